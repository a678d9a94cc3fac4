#pragma once
/// Loading tccp.yaml and $TCCP_HOME/config.yaml, and resolving a job.
///
///   auto global = config::load_global();
///   auto project = config::load_project(std::filesystem::current_path(), global);
///   config::JobSpec job = config::resolve_job(project, global, "train");
///
/// Every bad input throws tccp::Error(ExitCode::config) whose message is
///   FILE:LINE:COL: FIELD: PROBLEM, expected WHAT
/// (LINE and COL 1-based), with a hint `did you mean 'memory'?` for a near
/// miss. docs/protocol.md and tccp-config(1) list the messages.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tccp/config/cluster_profile.hpp"
#include "tccp/config/job_spec.hpp"

namespace tccp::config {

/// A place in a YAML file, for messages.
struct Location {
  std::string file; ///< as shown to the user ("tccp.yaml", "~/.tccp/config.yaml")
  int line = 0;     ///< 1-based; 0 when unknown
  int column = 0;   ///< 1-based

  /// "file:line:col", or "file" when the line is unknown.
  std::string to_string() const;
};

/// The fields one layer (global, project top level, one job) writes. An
/// empty optional means "not written here"; resolve_job() takes each field
/// from the most specific layer that writes it.
struct Settings {
  std::optional<std::string> type;
  std::optional<std::string> script;
  std::optional<std::string> package;
  std::optional<std::vector<std::string>> args;
  std::optional<std::string> env_file; ///< `env:`
  std::optional<std::string> output;
  std::optional<std::string> cache;
  std::optional<std::vector<std::string>> rodata;
  std::vector<std::pair<std::string, std::string>> environment; ///< merged per variable
  std::optional<std::vector<int>> ports;
  /// `gpu:`; an inner nullopt is `gpu: none`.
  std::optional<std::optional<std::string>> gpu_type;
  std::optional<int> gpu_count; ///< `gpu_count:` or the N of `gpu: TYPE:N`
  std::optional<long long> memory_mb;
  std::optional<int> cpus;
  std::optional<long long> time_limit_s; ///< `time:`
  /// `partition:`; an inner nullopt is `partition: auto`.
  std::optional<std::optional<std::string>> partition;
  std::optional<std::vector<std::string>> exclude_nodes;
};

/// One entry of the `jobs:` block.
struct JobEntry {
  std::string name;
  Settings settings;
  Location location; ///< of the job's name
};

/// $TCCP_HOME/config.yaml: the cluster profile and global defaults.
struct GlobalConfig {
  std::filesystem::path path; ///< where it was looked for
  bool exists = false;
  ClusterProfile cluster;
  std::vector<std::string> cluster_fields; ///< the `cluster:` keys the file writes
  Settings settings;                       ///< top-level defaults (precedence 1)
};

/// tccp.yaml, parsed and checked, not yet resolved.
struct Project {
  std::filesystem::path dir;       ///< absolute project root
  std::string file;                ///< tccp.yaml as shown in messages
  std::optional<std::string> name; ///< `name:`
  Settings settings;               ///< the top level
  bool has_jobs_block = false;
  std::vector<JobEntry> jobs; ///< in file order; empty without a `jobs:` block

  /// The project name: `name:` or the directory's name.
  std::string display_name() const;
  /// The job names, in file order ("main" without a `jobs:` block).
  std::vector<std::string> job_names() const;
};

/// The local state directory: $TCCP_HOME if set, else ~/.tccp.
std::filesystem::path tccp_home();

/// Reads $TCCP_HOME/config.yaml; a missing file gives the defaults.
GlobalConfig load_global();

/// Parses the text of a global config; `file` names it in messages.
GlobalConfig parse_global(const std::string& text, const std::string& file);

/// The nearest directory from `start` upwards holding tccp.yaml (like git
/// finds .git). Throws Error(config) "no tccp.yaml in ..." with the hint to
/// run 'tccp register'.
std::filesystem::path find_project_root(const std::filesystem::path& start);

/// Finds (from `start` upwards), reads and checks tccp.yaml. Messages name
/// the file relative to `start`.
Project load_project(const std::filesystem::path& start, const GlobalConfig& global);

/// Parses the text of a tccp.yaml at project root `dir`; `file` names it in
/// messages. Checks every field, and that each job can name a script or a
/// package. Throws Error(config).
Project parse_project(const std::string& text, const std::string& file,
                      const std::filesystem::path& dir, const GlobalConfig& global);

/// Which job `requested` means: the named one, or without a name the only
/// job (or "main"). Throws Error(usage) for an unknown job (with a did you
/// mean) or when several jobs exist and none is named.
std::string choose_job(const Project& project, const std::optional<std::string>& requested);

/// Resolves one job: defaults < global < project < job, then the GPU
/// auto-bumps (memory 32G, 64G on 80 GB cards; cpus 4; partition the
/// profile's gpu_partition), which replace defaults only. Pure: reads no
/// file.
JobSpec resolve_job(const Project& project, const GlobalConfig& global,
                    const std::optional<std::string>& requested);

/// Problems worth a warning that are not errors, found on disk: a script
/// that does not exist in the project.
std::vector<std::string> check_files(const JobSpec& job);

} // namespace tccp::config
