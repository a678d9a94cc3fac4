#pragma once
/// sbatch for allocation holders: the arguments from a resource request, the
/// job id from --parsable output, and refusals in words.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tccp/core/error.hpp"
#include "tccp/slurm/squeue.hpp"

namespace tccp::slurm {

/// What an allocation must provide (from the job's resolved resources).
struct ResourceRequest {
  GpuSpec gpu; ///< count 0 = no GPU
  long long memory_mb = 4096;
  int cpus = 1;
  long long time_limit_s = 3600;
  std::string partition; ///< empty: let SLURM pick its default
  std::vector<std::string> exclude_nodes;
};

/// The partition to ask for: the explicit one, else the GPU partition when
/// a GPU is asked, else the cluster's default partition (empty = SLURM's
/// default).
std::string choose_partition(const ResourceRequest& request, const std::string& gpu_partition,
                             const std::string& default_partition);

/// sbatch options for a holder of `request` (without the script): --parsable,
/// --job-name, --no-requeue, one node and task, --gres, --mem,
/// --cpus-per-task, --time, --partition (when not empty), --exclude (when
/// any). The remote helper adds --chdir and --output under the tccp root.
std::vector<std::string> holder_sbatch_options(const ResourceRequest& request,
                                               const std::string& job_name);

/// The time limit to ask for a holder serving a job of `job_s`: twice the
/// job's time, and at least an hour more, so that the next run fits in what
/// is left (reuse needs SLURM's remaining time to cover the job's); capped
/// by the partition's MaxTime when known, never below the job's own time.
/// The holder gives the node back after its idle timeout anyway.
long long holder_time_limit_s(long long job_s, const Duration& partition_max);

/// The job id in `sbatch --parsable` output ("123" or "123;cluster");
/// nullopt when there is none.
std::optional<std::string> parse_sbatch_job_id(std::string_view output);

/// Turns sbatch's stderr into an Error(refused) that says in words what the
/// cluster refused and what to change (partition, GPU type/count, memory,
/// time, QOS). The raw SLURM message is kept at the end.
Error explain_sbatch_refusal(std::string_view stderr_text, const ResourceRequest& request);

/// True when an allocation with these properties can host a job asking
/// `request`: same GPU type and at least as many GPUs (a job without GPU
/// only takes an allocation without GPU), at least the memory and CPUs, the
/// asked partition when one was named, a node not excluded, and SLURM's
/// own remaining time covering the job's time limit.
bool covers(const SqueueJob& allocation, const ResourceRequest& request);

} // namespace tccp::slurm
