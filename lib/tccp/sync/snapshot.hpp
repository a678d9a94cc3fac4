#pragma once
/// Run snapshots: every run starts from an immutable copy (hard links) of
/// the project's current tree, made on the cluster by the helper command
/// `snapshot`. A push during the run never changes the run's files.
///
/// Layout made for run R of project P (under the tccp root), shared with
/// the launch side, which adds its logs and extends `status`:
///   projects/P/runs/R/                the snapshot (cwd of the program)
///   projects/P/runs/R/<output>/       what the run writes; pulled back later
///   projects/P/runs/R/<rodata>        -> the rodata tree (linked, not copied)
///   projects/P/runs/R/status          job=, created_at=, code_digest= lines
/// Inside the helper, `sync_snapshot_tree PROJECT DEST` makes the copy
/// alone (for a launch command that builds the run dir itself).
#include <string>
#include <vector>

#include "tccp/remote/remote.hpp"

namespace tccp::sync {

struct SnapshotRequest {
  std::string remote_root = "~/.tccp";
  std::string project;
  std::string run_id;
  std::string job;
  std::string output = "output";   ///< project-relative output dir
  std::vector<std::string> rodata; ///< project-relative rodata dirs to link
};

struct Snapshot {
  std::string code_digest; ///< tree digest of the code (as in the sync object)
  std::string run_dir;     ///< <root>/projects/P/runs/R (the code)
  std::string output_dir;  ///< <run_dir>/<output>
};

/// The helper command line for the snapshot, for callers that batch it with
/// other work in one round trip. Its stdout holds "snapshot DIGEST".
std::string snapshot_command(const SnapshotRequest& request);

/// Reads the answer of snapshot_command(); throws Error(failed) with the
/// cluster's words when it failed.
Snapshot parse_snapshot_answer(const SnapshotRequest& request, const remote::ExecResult& result);

/// Makes the snapshot: one round trip.
Snapshot snapshot(remote::Remote& remote, const SnapshotRequest& request);

} // namespace tccp::sync
