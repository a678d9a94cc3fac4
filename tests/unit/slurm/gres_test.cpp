#include <gtest/gtest.h>

#include "tccp/slurm/gres.hpp"

using namespace tccp::slurm;

TEST(GresParse, TypedEntryWithCountAndSocket) {
  auto g = parse_gres("gpu:a100:2(S:0-1)");
  ASSERT_EQ(g.size(), 1U);
  EXPECT_EQ(g[0].name, "gpu");
  EXPECT_EQ(g[0].type, "a100");
  EXPECT_EQ(g[0].count, 2);
}

TEST(GresParse, SeveralEntriesAndIndexLists) {
  auto g = parse_gres("gpu:a100:1(IDX:0,2),gpu:t4:3(IDX:0-2)");
  ASSERT_EQ(g.size(), 2U);
  EXPECT_EQ(g[0].type, "a100");
  EXPECT_EQ(g[0].count, 1);
  EXPECT_EQ(g[1].type, "t4");
  EXPECT_EQ(g[1].count, 3);
}

TEST(GresParse, UntypedAndNull) {
  auto g = parse_gres("gpu:4");
  ASSERT_EQ(g.size(), 1U);
  EXPECT_EQ(g[0].type, "");
  EXPECT_EQ(g[0].count, 4);
  EXPECT_TRUE(parse_gres("(null)").empty());
}

TEST(GpuNodes, ParsesSinfoLinesWithDefaultPartitionMarker) {
  std::string out = "c1|batch*|mixed|2/6/0/8|gpu:a100:2|gpu:a100:1(IDX:0)|16000|1000\n"
                    "c1|gpu|mixed|2/6/0/8|gpu:a100:2|gpu:a100:1(IDX:0)|16000|1000\n"
                    "c3|batch*|idle|0/4/0/4|(null)|gpu:0|8000|0\n"
                    "garbage\n";
  auto nodes = parse_gpu_nodes(out);
  ASSERT_EQ(nodes.size(), 3U);
  EXPECT_EQ(nodes[0].node, "c1");
  EXPECT_EQ(nodes[0].partition, "batch");
  EXPECT_TRUE(nodes[0].default_partition);
  EXPECT_EQ(nodes[0].gpu_type, "a100");
  EXPECT_EQ(nodes[0].gpus_total, 2);
  EXPECT_EQ(nodes[0].gpus_used, 1);
  EXPECT_EQ(nodes[0].cpus_idle, 6);
  EXPECT_EQ(nodes[0].cpus_total, 8);
  EXPECT_FALSE(nodes[1].default_partition);
  EXPECT_EQ(nodes[2].gpus_total, 0);
  EXPECT_EQ(nodes[2].gpu_type, "");
}

TEST(NodeUsable, DownAndDrainedAreNot) {
  EXPECT_TRUE(node_usable("idle"));
  EXPECT_TRUE(node_usable("mixed"));
  EXPECT_FALSE(node_usable("drained"));
  EXPECT_FALSE(node_usable("down*"));
  EXPECT_FALSE(node_usable("idle*"));
}
