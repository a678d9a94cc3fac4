#pragma once
/// The resolved job: what `tccp-config resolve [JOB]` prints as the data of
/// a `job` envelope (docs/protocol.md) and what every later tool reads back
/// with job_from_json().
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tccp/config/cluster_profile.hpp"
#include "tccp/proto/envelope.hpp"

namespace tccp::config {

/// Where a resolved value came from, lowest precedence first.
enum class Origin {
  defaults, ///< tccp's default (including the GPU auto-bumps)
  global,   ///< $TCCP_HOME/config.yaml (~/.tccp/config.yaml)
  project,  ///< the top level of tccp.yaml
  job,      ///< the job's own block in `jobs:`
};

/// "default", "global", "project", "job".
const char* origin_name(Origin origin);

/// SLURM resources of a job.
struct Resources {
  std::optional<std::string> gpu_type;    ///< nullopt: no GPU type (none, or any GPU)
  int gpu_count = 0;                      ///< GPUs per allocation
  long long memory_mb = 4096;             ///< RAM
  int cpus = 1;                           ///< CPUs
  long long time_limit_s = 3600;          ///< walltime
  std::optional<std::string> partition;   ///< nullopt: the cluster's default
  std::vector<std::string> exclude_nodes; ///< nodes to avoid
};

/// One job of one project with every default, precedence rule and auto-bump
/// applied. Paths are relative to project_dir.
struct JobSpec {
  std::string project;                ///< `name:`, default the directory name
  std::string project_dir;            ///< absolute local path of the project root
  std::string job;                    ///< job name ("main" when no `jobs:` block)
  std::string type = "python";        ///< python | python-pytorch
  std::optional<std::string> script;  ///< `python <script> <args>`
  std::optional<std::string> package; ///< `python -m <package> <args>`
  std::vector<std::string> args;      ///< shell-split from the YAML string
  std::string env_file = ".env";      ///< always synced, 0600 on the cluster
  std::string output = "output";      ///< downloaded when the job finishes
  std::string cache = "cache";        ///< node-local, persists across jobs
  std::vector<std::string> rodata;    ///< read-only data dirs
  std::vector<std::pair<std::string, std::string>> environment; ///< exported, in file order
  std::vector<int> ports;                                       ///< forwarded to localhost
  Resources resources;
  ClusterProfile cluster; ///< the resolved cluster profile
  /// Field path ("resources.memory_mb", "environment.HF_HOME") -> origin,
  /// in the order of the JSON fields.
  std::vector<std::pair<std::string, Origin>> origins;

  /// The origin recorded for `path`, or nullopt.
  std::optional<Origin> origin_of(const std::string& path) const;
};

/// Whether job_to_json() adds the `origins` object.
enum class WithOrigins { no, yes };

/// The data of a `job` envelope: project, project_dir, job, type, script,
/// package (the one not used is null), args, env_file, output, cache,
/// rodata, environment, ports, resources {gpu_type, gpu_count, memory_mb,
/// cpus, time_limit_s, partition, exclude_nodes}, cluster, and with
/// WithOrigins::yes an `origins` object (field path -> origin name).
proto::Json job_to_json(const JobSpec& job, WithOrigins with_origins = WithOrigins::no);

/// Reads a job back from the data of a `job` envelope (fields added by
/// later tools are ignored). Throws Error(protocol) naming the first
/// missing or mistyped field.
JobSpec job_from_json(const proto::Json& data);

/// A `job` envelope holding job_to_json(job).
proto::Envelope job_envelope(const JobSpec& job, WithOrigins with_origins = WithOrigins::no);

} // namespace tccp::config
