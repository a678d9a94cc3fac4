#include <gtest/gtest.h>

#include "tccp/tools/alloc_tool.hpp"

using namespace tccp;
using namespace tccp::tools;

namespace {
proto::Json job_data(const proto::Json& resources) {
  return {{"project", "demo"},
          {"resources", resources},
          {"cluster", {{"gpu_partition", "gpu"}, {"default_partition", nullptr}}}};
}

const char* listing =
    "now|1796307800\n"
    "part|batch*|2-00:00:00\n"
    "part|gpu|1-00:00:00\n"
    "alloc|30|RUNNING|c1|gpu|gres:gpu:a100:1|32G|4|1:59:00|2:00:00|0:01|2026-12-03T14:22:31|"
    "2026-12-03T14:22:30|None|tccp:demo\n"
    "alloc|31|RUNNING|c1|gpu|gres:gpu:a100:2|64G|8|1:59:00|2:00:00|0:01|2026-12-03T14:22:31|"
    "2026-12-03T14:22:30|None|tccp:demo\n"
    "busy|30|train-1|running\n"
    "alloc|32|RUNNING|c2|batch|N/A|4G|1|1:09:00|1:10:00|0:01|2026-12-03T14:22:31|"
    "2026-12-03T14:22:30|None|tccp:demo\n"
    "alloc|33|RUNNING|c2|batch|N/A|4G|1|1:09:00|1:10:00|0:01|2026-12-03T14:22:31|"
    "2026-12-03T14:22:30|None|tccp:other\n"
    "alloc|34|PENDING||batch|N/A|8G|2|1:10:00|1:10:00|0:00|N/A|2026-12-03T14:22:30|Priority|"
    "tccp:demo\n";
} // namespace

TEST(AllocRequest, GpuJobGoesToTheGpuPartition) {
  auto r = request_from_job(job_data({{"gpu_type", "a100"},
                                      {"gpu_count", 1},
                                      {"memory_mb", 32768},
                                      {"cpus", 4},
                                      {"time_limit_s", 3600},
                                      {"partition", nullptr},
                                      {"exclude_nodes", {"c3"}}}));
  EXPECT_EQ(r.gpu, (slurm::GpuSpec{"a100", 1}));
  EXPECT_EQ(r.partition, "gpu");
  EXPECT_EQ(r.memory_mb, 32768);
  EXPECT_EQ(r.exclude_nodes, std::vector<std::string>{"c3"});
}

TEST(AllocRequest, CpuJobKeepsTheDefaultAndReadsACommaList) {
  auto r = request_from_job(job_data({{"gpu_type", nullptr},
                                      {"gpu_count", 0},
                                      {"memory_mb", 4096},
                                      {"cpus", 1},
                                      {"time_limit_s", 600},
                                      {"exclude_nodes", "c1, c2"}}));
  EXPECT_EQ(r.gpu.count, 0);
  EXPECT_EQ(r.partition, "");
  EXPECT_EQ(r.exclude_nodes, (std::vector<std::string>{"c1", "c2"}));
}

TEST(AllocRequest, MissingResourcesIsAProtocolError) {
  try {
    request_from_job({{"project", "x"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::protocol);
  }
}

TEST(AllocList, ParsesAllocationsRunsAndPartitionLimits) {
  auto list = parse_allocation_list(listing);
  EXPECT_EQ(list.now, 1796307800);
  ASSERT_EQ(list.allocations.size(), 5U);
  EXPECT_FALSE(list.allocations[0].idle());
  EXPECT_EQ(list.allocations[0].runs[0].first, "train-1");
  EXPECT_TRUE(list.allocations[1].idle());
  EXPECT_EQ(list.default_partition, "batch");
  EXPECT_EQ(list.partition_max.at("gpu").as_optional(), 86400);
}

TEST(PickAllocation, ReusesAnIdleOneOfThisProjectThatCovers) {
  auto list = parse_allocation_list(listing);
  slurm::ResourceRequest gpu;
  gpu.gpu = {"a100", 1};
  gpu.memory_mb = 32768;
  gpu.cpus = 4;
  gpu.partition = "gpu";
  auto pick = pick_allocation(list.allocations, gpu, "tccp:demo", AcceptPending::no);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->id, "31") << "30 is busy";

  slurm::ResourceRequest cpu;
  cpu.time_limit_s = 3600;
  auto c = pick_allocation(list.allocations, cpu, "tccp:demo", AcceptPending::no);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, "32") << "33 belongs to another project";
}

TEST(PickAllocation, NothingWhenTimeLeftOrMemoryFallShort) {
  auto list = parse_allocation_list(listing);
  slurm::ResourceRequest cpu;
  cpu.time_limit_s = 2 * 3600;
  EXPECT_FALSE(pick_allocation(list.allocations, cpu, "tccp:demo", AcceptPending::no));
  cpu.time_limit_s = 600;
  cpu.memory_mb = 8192;
  EXPECT_FALSE(pick_allocation(list.allocations, cpu, "tccp:demo", AcceptPending::no));
  auto pending = pick_allocation(list.allocations, cpu, "tccp:demo", AcceptPending::yes);
  ASSERT_TRUE(pending) << "a queued holder that covers is worth waiting for";
  EXPECT_EQ(pending->id, "34");
}

TEST(PickAllocation, PrefersTheSmallestThatCovers) {
  std::string text = std::string(listing) +
                     "alloc|35|RUNNING|c1|gpu|gres:gpu:a100:1|32G|4|1:59:00|2:00:00|0:01|"
                     "2026-12-03T14:22:31|2026-12-03T14:22:30|None|tccp:demo\n";
  auto list = parse_allocation_list(text);
  slurm::ResourceRequest gpu;
  gpu.gpu = {"a100", 1};
  gpu.memory_mb = 16384;
  gpu.cpus = 2;
  auto pick = pick_allocation(list.allocations, gpu, "tccp:demo", AcceptPending::no);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->id, "35");
}

TEST(AllocationJson, FieldsWithUnitsAndNulls) {
  auto list = parse_allocation_list(listing);
  auto j = allocation_to_json(list.allocations[4].job, false, 12);
  EXPECT_EQ(j["id"], "34");
  EXPECT_EQ(j["state"], "PENDING");
  EXPECT_TRUE(j["node"].is_null());
  EXPECT_TRUE(j["gpu_type"].is_null());
  EXPECT_EQ(j["memory_mb"], 8192);
  EXPECT_EQ(j["time_limit_s"], 4200);
  EXPECT_EQ(j["reused"], false);
  EXPECT_EQ(j["waited_s"], 12);
}
