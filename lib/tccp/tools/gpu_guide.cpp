#include "tccp/tools/gpu_guide.hpp"

namespace tccp::tools {

const std::vector<GpuModel>& gpu_models() {
  static const std::vector<GpuModel> models{
      {"t4", 16, "Inference, light training",
       "Oldest Turing card. Slow FP32 but decent FP16. Good for small models and debugging."},
      {"p100", 16, "Legacy workloads",
       "Pascal generation. No tensor cores. Mainly useful when nothing else is free."},
      {"rtx_6000", 24, "Medium training", "Turing with tensor cores. Decent for mid-size models."},
      {"v100", 32, "General training",
       "Volta. First-gen tensor cores. Solid all-rounder, good FP16 throughput."},
      {"a100-40gb", 40, "Large model training",
       "Ampere. 3rd-gen tensor cores, TF32, BF16. Fast interconnect. Great price/perf."},
      {"rtx_a5000", 24, "Medium training, multi-GPU",
       "Ampere workstation GPU. 8 per node - good for data-parallel training."},
      {"l40", 48, "Large models, fine-tuning",
       "Ada Lovelace. Good VRAM for big batch sizes or large models."},
      {"rtx_a6000", 48, "Large models", "Ampere workstation. 48 GB VRAM, 8 per node."},
      {"rtx_6000ada", 48, "Large models, fast training",
       "Ada Lovelace workstation. Newer arch than rtx_a6000."},
      {"a100-80gb", 80, "LLMs, very large models",
       "The workhorse. 80 GB VRAM handles most LLM fine-tuning. High bandwidth."},
      {"l40s", 48, "Fast training, inference",
       "Ada Lovelace server GPU. Better FP8 than L40. Newer generation."},
      {"h100", 80, "LLMs, fastest training",
       "Hopper. 4th-gen tensor cores, FP8, Transformer Engine. Top-tier throughput."},
  };
  return models;
}

const std::vector<std::pair<std::string, std::string>>& gpu_rules() {
  static const std::vector<std::pair<std::string, std::string>> rules{
      {"Debugging / small models (<1B params)", "t4 - cheapest, 16 GB is enough"},
      {"Standard training (1-7B params)", "v100 or a100-40gb"},
      {"Large models / fine-tuning (7-13B)", "a100-80gb or l40s"},
      {"LLM fine-tuning (13B+)", "a100-80gb or h100, possibly multi-GPU"},
      {"Multi-GPU data parallel", "rtx_a5000 (8 per node) or a100-80gb:2"},
      {"Just need lots of VRAM", "l40 / rtx_a6000 / rtx_6000ada (all 48 GB)"},
      {"No GPU needed", "set `gpu: none` or omit it entirely with `type: python`"},
  };
  return rules;
}

const std::vector<VramEstimate>& vram_estimates() {
  static const std::vector<VramEstimate> estimates{
      {"ResNet/EfficientNet training", "4-8 GB", "t4"},
      {"BERT fine-tuning", "8-12 GB", "t4, v100"},
      {"GPT-2 (124M) training", "8-12 GB", "t4, v100"},
      {"Stable Diffusion fine-tuning", "16-24 GB", "v100, rtx_6000"},
      {"LLaMA 7B LoRA fine-tuning", "16-24 GB", "v100, a100-40gb"},
      {"LLaMA 7B full fine-tuning", "32-40 GB", "a100-40gb"},
      {"LLaMA 13B LoRA fine-tuning", "32-40 GB", "a100-40gb, a100-80gb"},
      {"LLaMA 13B full fine-tuning", "60-80 GB", "a100-80gb"},
      {"LLaMA 70B LoRA (QLoRA 4-bit)", "40-48 GB", "a100-80gb, l40s"},
      {"Inference (any model, quantized)", "Model size / quant bits", "varies"},
  };
  return estimates;
}

} // namespace tccp::tools
