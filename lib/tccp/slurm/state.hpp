#pragma once
/// SLURM job states and pending reasons, and what they mean in words.
#include <string>
#include <string_view>
#include <vector>

namespace tccp::slurm {

/// The states tccp distinguishes; everything else is `other`.
enum class JobState {
  pending,
  configuring,
  running,
  completing,
  suspended,
  completed,
  cancelled,
  failed,
  timeout,
  node_fail,
  preempted,
  boot_fail,
  deadline,
  out_of_memory,
  other,
};

/// Parses "RUNNING", "CANCELLED by 1001" (sacct), "PD"/"R" short forms.
JobState parse_job_state(std::string_view text);

/// The upper-case SLURM name ("RUNNING").
const char* job_state_name(JobState state);

/// True when the job holds (or is about to hold) its node: running,
/// configuring, completing, suspended.
bool is_active(JobState state);

/// True when the job will never run again.
bool is_finished(JobState state);

/// Why an allocation ended, in words, e.g. "the allocation hit its time
/// limit" or "the allocation was cancelled outside tccp".
std::string describe_end(JobState state);

/// A pending reason in words ("Resources" -> "waiting for resources: the
/// nodes it needs are busy"). Unknown reasons are returned as they are.
std::string describe_pending_reason(std::string_view reason);

/// True for pending reasons that mean the job can never start as asked
/// (time limit above the partition's, impossible constraints, a held or
/// invalid QOS/account), so waiting is pointless.
bool is_hopeless_reason(std::string_view reason);

/// Every reason is_hopeless_reason() accepts (the remote helper stops
/// waiting on them).
std::vector<std::string> hopeless_reasons();

} // namespace tccp::slurm
