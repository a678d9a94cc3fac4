#pragma once
/// tccp-alloc: finds a reusable SLURM allocation for a job or creates one
/// (a holder batch job named tccp:<project>); lists and releases them.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tccp/proto/envelope.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/slurm/sbatch.hpp"
#include "tccp/term/printer.hpp"
#include "tccp/tools/jobs.hpp"

namespace tccp::tools {

/// The resources a job document asks for, with the partition chosen (the
/// job's, else the profile's gpu_partition for a GPU job, else its
/// default_partition, else SLURM's default). Throws Error(protocol) when
/// `resources` is missing.
slurm::ResourceRequest request_from_job(const proto::Json& data);

/// One tccp allocation and the runs using it.
struct AllocationView {
  slurm::SqueueJob job;
  std::vector<std::pair<std::string, std::string>> runs; ///< (run id, state)
  bool idle() const { return runs.empty(); }
};

/// What alloc_list reports.
struct AllocationList {
  long long now = 0;
  std::vector<AllocationView> allocations;
  std::map<std::string, slurm::Duration> partition_max; ///< partition -> MaxTime
  std::string default_partition;                        ///< the one sinfo marks '*'
};

/// Parses the helper's alloc_list output.
AllocationList parse_allocation_list(std::string_view output);

/// The idle allocation named `name` that covers `request` (running with a
/// node, or with `pending` also still pending); among several, the one
/// holding the least (fewest GPUs, then memory, then CPUs), then the one
/// with the most time left.
enum class AcceptPending { no, yes };
std::optional<slurm::SqueueJob> pick_allocation(const std::vector<AllocationView>& allocations,
                                                const slurm::ResourceRequest& request,
                                                const std::string& name, AcceptPending pending);

/// The `allocation` object: id, name, state, node, partition, gpu_type,
/// gpu_count, memory_mb, cpus, time_limit_s, time_left_s, reused, waited_s,
/// verified (true: as SLURM reported it now).
proto::Json allocation_to_json(const slurm::SqueueJob& job, bool reused, long long waited_s);

/// `ensure`: reuses or creates the allocation for the job in `context` and
/// returns its envelope with data.allocation added. Shows SLURM's pending
/// reason and the wait on stderr (unless quiet). Throws Error(refused) when
/// the cluster refuses the request or SLURM can never start it (a pending
/// reason such as PartitionTimeLimit; the holder is then cancelled).
enum class Progress { show, quiet };
proto::Envelope ensure_allocation(remote::Remote& remote, const JobContext& context,
                                  const term::Printer& printer, Progress progress);

/// `ensure --optimistic`: the allocation this project last got, when by
/// what was known then (resources, time left counted down since) it covers
/// the job, without asking the cluster; data.allocation then says
/// `verified: false` and tccp-launch start checks it with SLURM in the round
/// trip that starts the run. nullopt when there is none to trust.
std::optional<proto::Envelope> trusted_allocation(const JobContext& context,
                                                  const term::Printer& printer);

/// The tool's main.
int alloc_main(int argc, char** argv);

} // namespace tccp::tools
