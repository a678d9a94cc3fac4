#include <algorithm>

#include <gtest/gtest.h>

#include "tccp/core/error.hpp"
#include "tccp/tools/gpu_guide.hpp"
#include "tccp/tools/gpus_tool.hpp"

using namespace tccp;

namespace {
std::vector<slurm::NodeGpus> sample() {
  return slurm::parse_gpu_nodes("c1|batch*|mixed|2/6/0/8|gpu:a100:2|gpu:a100:1(IDX:0)|16000|1000\n"
                                "c1|gpu|mixed|2/6/0/8|gpu:a100:2|gpu:a100:1(IDX:0)|16000|1000\n"
                                "c2|gpu|drained|0/8/0/8|gpu:t4:2|gpu:t4:0|16000|0\n");
}
} // namespace

TEST(GpuGuide, ListsTheGuideTypesLeastToMostPowerful) {
  const auto& m = tools::gpu_models();
  ASSERT_EQ(m.size(), 12U);
  EXPECT_EQ(m.front().type, "t4");
  EXPECT_EQ(m.back().type, "h100");
  EXPECT_EQ(m[9].type, "a100-80gb");
  EXPECT_EQ(m[9].vram_gb, 80);
}

TEST(GpuSummary, SumsPerPartitionAndCountsOnlyUsableFree) {
  auto env = tools::gpu_summary_envelope(sample());
  const auto& parts = env.data["partitions"];
  ASSERT_EQ(parts.size(), 3U);
  // (batch,a100), (gpu,a100), (gpu,t4) in key order.
  EXPECT_EQ(parts[0]["partition"], "batch");
  EXPECT_EQ(parts[0]["gpus_free"], 1);
  EXPECT_EQ(parts[2]["gpu_type"], "t4");
  EXPECT_EQ(parts[2]["gpus_total"], 2);
  EXPECT_EQ(parts[2]["gpus_free"], 0); // drained node
}

TEST(GpuNodes, DetailForOneTypeListsItsNodesOnce) {
  auto env = tools::gpu_nodes_envelope(sample(), "a100");
  ASSERT_EQ(env.data["nodes"].size(), 1U);
  EXPECT_EQ(env.data["nodes"][0]["node"], "c1");
  EXPECT_EQ(env.data["nodes"][0]["partitions"].size(), 2U);
  EXPECT_EQ(env.data["nodes"][0]["gpus_free"], 1);
  EXPECT_EQ(env.data["nodes"][0]["memory_free_mb"], 15000);
}

TEST(GpuNodes, UnknownTypeNamesTheClustersTypes) {
  try {
    tools::gpu_nodes_envelope(sample(), "h100");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failed);
    EXPECT_STREQ(e.what(), "the cluster has no GPU of type 'h100'");
    EXPECT_EQ(e.hint(), "GPU types on this cluster: a100, t4");
  }
}

#include "tccp/config/values.hpp"

TEST(GpuGuide, EveryGuideTypeIsAcceptedByTheConfig) {
  const auto& known = config::known_gpu_types();
  for (const auto& m : tools::gpu_models()) {
    EXPECT_NE(std::find(known.begin(), known.end(), m.type), known.end()) << m.type;
  }
}
