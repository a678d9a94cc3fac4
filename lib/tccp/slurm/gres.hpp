#pragma once
/// GPU availability from sinfo: parsing GRES strings and summing them by
/// partition and node.
#include <string>
#include <string_view>
#include <vector>

namespace tccp::slurm {

/// One GRES entry: "gpu:a100:2(S:0-1)" -> {name gpu, type a100, count 2}.
struct Gres {
  std::string name;
  std::string type; ///< empty when the site declares untyped GPUs
  long count = 0;
};

/// Parses a sinfo Gres/GresUsed field ("gpu:a100:2,gpu:t4:1(IDX:0)",
/// "(null)"). Non-GPU entries are kept; callers filter by name.
std::vector<Gres> parse_gres(std::string_view field);

/// One line of the GPU query: one (node, partition) pair.
struct NodeGpus {
  std::string node;
  std::string partition; ///< without the default marker '*'
  bool default_partition = false;
  std::string state;    ///< idle, mixed, allocated, drained, down...
  std::string gpu_type; ///< empty for untyped
  long gpus_total = 0;
  long gpus_used = 0;
  long cpus_idle = 0;
  long cpus_total = 0;
  long memory_mb = 0;
  long memory_alloc_mb = 0;
};

/// The sinfo command line whose output parse_gpu_nodes reads.
std::string gpu_query_command();

/// Parses the output of gpu_query_command(): one NodeGpus per node,
/// partition and GPU type (a node with no GPU gives one entry with an empty
/// type and zero GPUs). Malformed lines are skipped.
std::vector<NodeGpus> parse_gpu_nodes(std::string_view sinfo_output);

/// True when a node in this state can take new work.
bool node_usable(std::string_view state);

} // namespace tccp::slurm
