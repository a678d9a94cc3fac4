#pragma once
/// Pushing a project to the cluster. The common push is ONE round trip: one
/// helper call (`sync_apply`) whose stdin carries the digest the client
/// believes the cluster holds, the manifest changes, the changed files as a
/// tar stream and the deleted paths; the helper applies it atomically and
/// answers the new digest. When the belief is wrong (scratch wiped, another
/// laptop pushed), the same call answers with the cluster's manifest and
/// the delta against it follows: two round trips.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tccp/remote/remote.hpp"
#include "tccp/sync/preview.hpp"
#include "tccp/sync/scan.hpp"

namespace tccp::sync {

/// What to push and where. Paths (env_file, output, rodata) are relative to
/// project_dir.
struct PushSpec {
  std::string project;               ///< remote projects/<project>
  std::filesystem::path project_dir; ///< the local project
  std::optional<std::string> env_file = ".env";
  std::string output = "output";   ///< never pushed
  std::vector<std::string> rodata; ///< pushed apart, once per allocation
  std::string remote_root = "~/.tccp";
  std::string cluster_key = "default"; ///< names the cluster in local state
  std::optional<std::string> allocation_id;
  std::filesystem::path state_dir; ///< empty: project_state_dir()
  /// When the project is unchanged since the push the cluster last
  /// acknowledged, ask nothing: the report says `deferred`, and whoever
  /// uses the tree checks its digest on the cluster (tccp-launch start does,
  /// in the round trip that starts the run).
  bool defer_unchanged = false;
};

/// Hears about a push as it goes (all optional).
class PushObserver {
public:
  virtual ~PushObserver() = default;
  /// Before the first push of a project (nothing remembered for it).
  virtual void preview(const Preview& /*preview*/) {}
  /// File bytes sent so far out of the bytes this push sends.
  virtual void progress(std::uint64_t /*done*/, std::uint64_t /*total*/) {}
  /// A one-line note for people ("the cluster's tree changed; resending").
  virtual void note(const std::string& /*message*/) {}
};

/// One pushed tree (the project, or a rodata dir).
struct TargetReport {
  std::string path;        ///< "" for the project, the rodata path otherwise
  std::string digest;      ///< the tree digest now on the cluster
  std::string remote_tree; ///< where it is on the cluster
  bool skipped = false;    ///< rodata already pushed in this allocation
  bool deferred = false;   ///< unchanged: the cluster was not asked (defer_unchanged)
  std::size_t files_total = 0;
  std::uint64_t bytes_total = 0;
  std::size_t files_sent = 0;
  std::uint64_t bytes_sent = 0; ///< file content bytes sent
  std::size_t deleted = 0;
  int round_trips = 0;
};

struct PushResult {
  TargetReport tree;
  std::vector<TargetReport> rodata;
  int round_trips = 0;            ///< exec channels opened, all targets
  std::uint64_t stream_bytes = 0; ///< bytes written to the cluster, all targets
  std::size_t files_hashed = 0;   ///< files read to hash (the rest came from the index)
  bool first_push = false;
  long long duration_ms = 0;
};

/// Pushes the project (and its rodata) through `remote`. Throws
/// Error(failed) for a local problem (unreadable file, symlink leaving the
/// project) or when the cluster refuses the push, with the cluster's words;
/// the tree on the cluster is then unchanged.
PushResult push(remote::Remote& remote, const PushSpec& spec, PushObserver* observer = nullptr);

/// One path a push would consider.
struct ListedPath {
  std::string path; ///< relative to the project
  EntryKind kind = EntryKind::file;
  std::uint64_t size = 0;
  bool rodata = false; ///< part of a rodata dir
};

/// The files and symlinks a push would consider, after every rule: the
/// project's, then each rodata dir's, sorted by path.
std::vector<ListedPath> list_paths(const PushSpec& spec);

/// The remote directory (relative to the tccp root) of a project's tree
/// target, and of one of its rodata dirs.
std::string project_target(const std::string& project);
std::string rodata_target(const std::string& project, const std::string& rodata_path);

/// The name of a rodata dir on the cluster ("data/imgs" -> "data%2Fimgs").
std::string rodata_key(const std::string& rodata_path);

/// Checks the spec: a project name usable as a directory name, relative
/// paths inside the project. Throws Error(config).
void validate(const PushSpec& spec);

/// Normalises a project-relative path ("./data/" -> "data"); nullopt when
/// it is absolute, empty or leaves the project.
std::optional<std::string> project_relative(const std::string& path);

} // namespace tccp::sync
