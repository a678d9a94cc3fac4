#pragma once
/// tccp-gpus: GPU availability by partition and node, and the offline guide.
#include <string>
#include <vector>

#include "tccp/proto/envelope.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/slurm/gres.hpp"

namespace tccp::tools {

/// The `gpu_guide` envelope (works offline).
proto::Envelope gpu_guide_envelope();

/// Human form of the guide.
std::string format_gpu_guide(bool colour);

/// Totals per (partition, GPU type) from sinfo lines: the `gpus` envelope.
proto::Envelope gpu_summary_envelope(const std::vector<slurm::NodeGpus>& nodes);

/// Per-node detail for one GPU type: the `gpu_nodes` envelope. Throws
/// Error(failed) naming the types the cluster has when `type` is unknown.
proto::Envelope gpu_nodes_envelope(const std::vector<slurm::NodeGpus>& nodes,
                                   const std::string& type);

/// Asks the cluster (one round trip) for its GPU nodes.
std::vector<slurm::NodeGpus> query_gpu_nodes(remote::Remote& remote);

/// The tool's main.
int gpus_main(int argc, char** argv);

} // namespace tccp::tools
