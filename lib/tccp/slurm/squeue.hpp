#pragma once
/// squeue: the command lines tccp runs and the parsers for their output.
/// Every format uses '|' between fields (squeue pads and truncates
/// otherwise) and puts the job name last, the one free-text field.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tccp/slurm/duration.hpp"
#include "tccp/slurm/state.hpp"

namespace tccp::slurm {

/// GPUs asked for or held: type may be empty ("gpu:2" without a type).
struct GpuSpec {
  std::string type;
  int count = 0;

  bool operator==(const GpuSpec&) const = default;
};

/// Parses a GRES/TRES-per-node string as squeue %b prints it:
/// "gres:gpu:a100:1", "gres:gpu:2", "gres/gpu:a100=2", "N/A", possibly a
/// comma-separated list; the GPU entry wins, none gives count 0.
GpuSpec parse_gpu_gres(std::string_view text);

/// One job line of `squeue -o <job_format>`.
struct SqueueJob {
  std::string id;
  JobState state = JobState::other;
  std::string state_name;          ///< as SLURM printed it ("RUNNING")
  std::optional<std::string> node; ///< nullopt while pending
  std::string partition;
  GpuSpec gpu;
  std::optional<long long> memory_mb; ///< per node
  int cpus = 0;
  Duration time_left;
  Duration time_limit;
  Duration elapsed;
  std::optional<long long> start_time; ///< epoch seconds (expected start while pending)
  std::optional<long long> submit_time;
  std::string reason; ///< pending reason or "None"
  std::string name;
};

/// The -o format matching parse_squeue_job.
inline constexpr std::string_view job_format = "%i|%T|%N|%P|%b|%m|%C|%L|%l|%M|%S|%V|%r|%j";

/// Parses one line; nullopt for a line that does not have the fields
/// (headers, blank lines, error messages).
std::optional<SqueueJob> parse_squeue_job(std::string_view line);

/// Parses every job line of a whole output, skipping what is not one.
std::vector<SqueueJob> parse_squeue_jobs(std::string_view output);

/// One step line of `squeue -s -o <step_format>`: "4.0|sleep|vm|0:03".
struct SqueueStep {
  std::string job_id;  ///< "4"
  std::string step_id; ///< "0", "batch", "extern"
  std::string name;
  std::string node;
  Duration elapsed;
};

inline constexpr std::string_view step_format = "%i|%N|%M|%j";

std::optional<SqueueStep> parse_squeue_step(std::string_view line);

/// The argv of `squeue` listing the user's jobs with job_format: all of
/// them, or those with the given names (--name, exact match), or the given
/// ids. With `include_finished`, finished jobs still known to slurmctld
/// are listed too (-t all).
enum class IncludeFinished { no, yes };
std::vector<std::string> squeue_jobs_argv(const std::vector<std::string>& names,
                                          const std::vector<std::string>& ids,
                                          IncludeFinished include_finished);

} // namespace tccp::slurm
