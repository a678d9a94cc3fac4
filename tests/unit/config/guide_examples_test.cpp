// Each tccp.yaml of the user guide (tests/golden/guide/<example>/tccp.yaml)
// resolves to the values the guide states, and to the golden job document
// tests/golden/job-<example>-<job>.json byte for byte. After an intended
// change, regenerate the golden files with TCCP_UPDATE_GOLDEN=1 and review
// the diff.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support.hpp"
#include "tccp/util/fs.hpp"

using namespace tccp;
using namespace tccp::config;

namespace {
constexpr long long gb = 1024;
const std::filesystem::path golden_dir = std::filesystem::path(TCCP_SOURCE_DIR) / "tests/golden";

JobSpec example(const std::string& name, const std::optional<std::string>& job = {}) {
  std::string text = util::read_file(golden_dir / "guide" / name / "tccp.yaml");
  GlobalConfig global = fixtures::global();
  Project project = parse_project(text, "tccp.yaml", "/home/user/" + name, global);
  return resolve_job(project, global, job);
}

void expect_golden(const JobSpec& job, const std::string& file) {
  std::string actual = job_envelope(job).to_json().dump(2) + "\n";
  auto path = golden_dir / file;
  if (const char* update = std::getenv("TCCP_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    util::atomic_write_file(path, actual, 0644);
  }
  auto expected = util::read_file_if_exists(path);
  ASSERT_TRUE(expected.has_value()) << path << " is missing; run with TCCP_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, *expected) << "the job document differs from " << path;
}
} // namespace

TEST(GuideExamples, SimplestConfigIsJustAScript) {
  JobSpec job = example("simplest");
  EXPECT_EQ(job.job, "main");
  EXPECT_EQ(job.script, "train.py");
  expect_golden(job, "job-simplest-main.json");
}

TEST(GuideExamples, FullExampleTrainJob) {
  JobSpec job = example("full", std::string("train"));
  EXPECT_EQ(job.type, "python-pytorch");
  EXPECT_EQ(job.script, "train.py");
  EXPECT_EQ(job.args, (std::vector<std::string>{"--epochs", "100", "--lr", "0.001"}));
  EXPECT_EQ(job.env_file, ".env");
  EXPECT_EQ(job.output, "output");
  EXPECT_EQ(job.cache, ".hf_cache");
  EXPECT_EQ(job.rodata, (std::vector<std::string>{"data"}));
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(job.environment, (Env{{"WANDB_PROJECT", "my-experiment"}}));
  EXPECT_EQ(job.ports, (std::vector<int>{6006}));
  EXPECT_EQ(job.resources.gpu_type, "a100-80gb");
  EXPECT_EQ(job.resources.gpu_count, 2);
  EXPECT_EQ(job.resources.memory_mb, 64 * gb); // written
  EXPECT_EQ(job.resources.cpus, 8);            // written
  EXPECT_EQ(job.resources.time_limit_s, 8 * 3600);
  EXPECT_EQ(job.resources.partition, "gpu");
  expect_golden(job, "job-full-train.json");
}

TEST(GuideExamples, FullExampleEvalJobInheritsTheProjectGpu) {
  JobSpec job = example("full", std::string("eval"));
  EXPECT_EQ(job.script, "eval.py");
  EXPECT_EQ(job.args, (std::vector<std::string>{"--checkpoint", "best.pt"}));
  EXPECT_EQ(job.resources.gpu_type, "a100");
  EXPECT_EQ(job.resources.gpu_count, 1);
  EXPECT_EQ(job.resources.memory_mb, 32 * gb); // auto-bump
  EXPECT_EQ(job.resources.cpus, 4);            // auto-bump
  EXPECT_EQ(job.resources.time_limit_s, 3600);
  EXPECT_TRUE(job.ports.empty());
  expect_golden(job, "job-full-eval.json");
}

TEST(GuideExamples, SimpleCpuProject) {
  JobSpec job = example("cpu");
  EXPECT_EQ(job.job, "main");
  EXPECT_EQ(job.type, "python");
  EXPECT_EQ(job.script, "main.py");
  EXPECT_EQ(job.resources.gpu_count, 0);
  EXPECT_EQ(job.resources.memory_mb, 4 * gb);
  EXPECT_EQ(job.resources.cpus, 1);
  EXPECT_EQ(job.resources.partition, std::nullopt);
  expect_golden(job, "job-cpu-main.json");
}

TEST(GuideExamples, PytorchGpuTraining) {
  JobSpec train = example("pytorch", std::string("train"));
  EXPECT_EQ(train.output, "checkpoints");
  EXPECT_EQ(train.args, (std::vector<std::string>{"--epochs", "50", "--lr", "3e-4"}));
  EXPECT_EQ(train.resources.gpu_type, "a100");
  EXPECT_EQ(train.resources.gpu_count, 1);
  EXPECT_EQ(train.resources.memory_mb, 32 * gb);
  EXPECT_EQ(train.resources.cpus, 4);
  EXPECT_EQ(train.resources.time_limit_s, 4 * 3600);
  EXPECT_EQ(train.ports, (std::vector<int>{6006}));
  expect_golden(train, "job-pytorch-train.json");
  JobSpec eval = example("pytorch", std::string("eval"));
  EXPECT_EQ(eval.resources.time_limit_s, 3600);
  EXPECT_EQ(eval.origin_of("resources.memory_mb"), Origin::defaults);
  expect_golden(eval, "job-pytorch-eval.json");
}

TEST(GuideExamples, LlmFineTuningWithLora) {
  JobSpec job = example("llm");
  EXPECT_EQ(job.job, "finetune");
  EXPECT_EQ(job.args,
            (std::vector<std::string>{"--model", "meta-llama/Llama-2-7b-hf", "--epochs", "3"}));
  EXPECT_EQ(job.cache, ".hf_cache");
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(job.environment,
            (Env{{"HF_HOME", "cache/.hf_cache"}, {"WANDB_PROJECT", "llm-finetune"}}));
  EXPECT_EQ(job.resources.gpu_type, "a100-80gb");
  EXPECT_EQ(job.resources.gpu_count, 1);
  EXPECT_EQ(job.resources.memory_mb, 64 * gb);
  EXPECT_EQ(job.resources.cpus, 8);
  EXPECT_EQ(job.resources.time_limit_s, 12 * 3600);
  expect_golden(job, "job-llm-finetune.json");
}

TEST(GuideExamples, JupyterNotebookServer) {
  JobSpec job = example("jupyter");
  EXPECT_EQ(job.job, "notebook");
  EXPECT_EQ(job.script, "start_jupyter.py");
  EXPECT_EQ(job.ports, (std::vector<int>{8888})); // the project's ports
  EXPECT_EQ(job.resources.gpu_type, "v100");
  EXPECT_EQ(job.resources.memory_mb, 32 * gb);
  EXPECT_EQ(job.resources.cpus, 4);
  EXPECT_EQ(job.resources.time_limit_s, 8 * 3600);
  expect_golden(job, "job-jupyter-notebook.json");
}

TEST(GuideExamples, MultiGpuTraining) {
  JobSpec job = example("multigpu");
  EXPECT_EQ(job.resources.gpu_type, "a100-80gb");
  EXPECT_EQ(job.resources.gpu_count, 2);
  EXPECT_EQ(job.resources.memory_mb, 128 * gb); // written wins over the 64G bump
  EXPECT_EQ(job.resources.cpus, 16);
  EXPECT_EQ(job.resources.time_limit_s, 8 * 3600);
  EXPECT_EQ(job.args, (std::vector<std::string>{"--batch-size", "64"}));
  expect_golden(job, "job-multigpu-train.json");
}
