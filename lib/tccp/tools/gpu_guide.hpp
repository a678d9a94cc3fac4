#pragma once
/// The offline GPU guide: the GPU types of the user guide, least to most
/// powerful, with their memory and what they are good for.
#include <string>
#include <vector>

namespace tccp::tools {

struct GpuModel {
  std::string type; ///< the name used in tccp.yaml (`gpu: a100-80gb`)
  int vram_gb;
  std::string best_for;
  std::string notes;
};

struct VramEstimate {
  std::string task;
  std::string vram;
  std::string suggested;
};

/// The table of GPU types, least to most powerful.
const std::vector<GpuModel>& gpu_models();

/// Rules of thumb ("Debugging / small models" -> "t4 ...").
const std::vector<std::pair<std::string, std::string>>& gpu_rules();

/// VRAM needed for common tasks.
const std::vector<VramEstimate>& vram_estimates();

} // namespace tccp::tools
