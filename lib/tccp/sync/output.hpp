#pragma once
/// Bringing a run's output back, and cleaning old output.
///
/// A run's output dir (projects/P/runs/R/<output> on the cluster) comes back
/// to <project>/<output>/<job>/<timestamp>/ with <output>/<job>/latest (a
/// relative symlink) pointing at it. Two round trips at most: a listing,
/// then one stream with what is missing locally. Files arrive as
/// "<name>.tccp.part" and are renamed when complete, so a file is visible
/// only whole; an interrupted download keeps its parts and the next pull
/// continues each from its size. Files already complete (same size and
/// mtime) are not fetched again.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tccp/remote/remote.hpp"

namespace tccp::sync {

/// Suffix of a file still downloading.
inline constexpr const char* part_suffix = ".tccp.part";

struct PullRequest {
  std::string remote_root = "~/.tccp";
  std::string project;
  std::string run_id;                 ///< empty: the newest run of `job`
  std::string job;                    ///< names output/<job>/ (and finds the run)
  std::string output = "output";      ///< the output dir, relative to the project
  std::filesystem::path local_output; ///< <project_dir>/<output>
  /// Paths inside the output dir never downloaded (the cache dir when the
  /// user put it there).
  std::vector<std::string> exclude;
};

class PullObserver {
public:
  virtual ~PullObserver() = default;
  /// Bytes received so far out of the bytes this pull fetches.
  virtual void progress(std::uint64_t /*done*/, std::uint64_t /*total*/) {}
};

struct PullResult {
  std::string run_id;
  std::string job;
  std::filesystem::path dir;     ///< output/<job>/<timestamp>
  std::filesystem::path latest;  ///< output/<job>/latest
  std::size_t files_total = 0;   ///< files in the run's output
  std::size_t files_fetched = 0; ///< files received in this pull
  std::size_t files_resumed = 0; ///< of those, continued from a part
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_fetched = 0;
  int round_trips = 0;
};

/// Downloads the output of a run (see the file comment). Throws
/// Error(failed) when the run does not exist or the cluster refuses, and
/// Error(unreachable) when the stream ends early (parts are kept: run it
/// again to resume).
PullResult pull_output(remote::Remote& remote, const PullRequest& request,
                       PullObserver* observer = nullptr);

/// The local directory name for a run created at `created_at` (RFC 3339):
/// "2026-02-15T10:30:00Z" -> "2026-02-15T10-30-00Z".
std::string output_stamp(const std::string& created_at, const std::string& run_id);

struct CleanRequest {
  std::string remote_root = "~/.tccp";
  std::string project;
  std::string job;                    ///< empty: every job
  std::string output = "output";      ///< the output dir, relative to the project
  std::filesystem::path local_output; ///< <project_dir>/<output>
};

struct CleanResult {
  std::vector<std::filesystem::path> local_removed;
  std::vector<std::string> remote_cleaned; ///< run ids whose output went
  int round_trips = 0;
};

/// Deletes old output, keeping the latest per job: locally every
/// output/<job>/<timestamp>/ that `latest` does not point to (only in job
/// dirs tccp made, i.e. with a `latest` link), and on the cluster the output
/// of every ended run but the newest per job. One round trip.
CleanResult clean_output(remote::Remote& remote, const CleanRequest& request);

} // namespace tccp::sync
