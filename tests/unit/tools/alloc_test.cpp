#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <optional>

#include "tccp/term/printer.hpp"
#include "tccp/tools/alloc_tool.hpp"
#include "tccp/tools/jobs.hpp"
#include "tccp/util/fs.hpp"

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

namespace {
// A project's context with $TCCP_HOME in a temp dir, as `tccp run` reads it.
class Trusted : public ::testing::Test {
protected:
  void SetUp() override {
    const char* old = std::getenv("TCCP_HOME");
    m_old = old != nullptr ? std::optional<std::string>(old) : std::nullopt;
    ::setenv("TCCP_HOME", m_home.path().c_str(), 1);
    auto list = parse_allocation_list(listing);
    m_alloc = allocation_to_json(list.allocations[2].job, false, 0); // 32: 4G, 1 CPU, 1:09 left
  }
  void TearDown() override {
    if (m_old) {
      ::setenv("TCCP_HOME", m_old->c_str(), 1);
    } else {
      ::unsetenv("TCCP_HOME");
    }
  }
  JobContext context(long long memory_mb, long long time_limit_s,
                     const std::string& project = "demo") const {
    JobContext c;
    c.project = project;
    c.remote_root = "~/.tccp";
    c.cluster = {{"host", "hpc"}, {"user", "ada"}, {"port", 22}};
    c.envelope.type = "job";
    c.envelope.data = job_data(
        {{"memory_mb", memory_mb}, {"cpus", 1}, {"time_limit_s", time_limit_s}, {"gpu_count", 0}});
    c.envelope.data["project"] = project;
    return c;
  }
  util::TempDir m_home{"tccp-trusted"};
  std::optional<std::string> m_old;
  proto::Json m_alloc;
  term::Printer m_printer{"test"};
};
} // namespace

TEST_F(Trusted, TheLastAllocationIsTakenWhenItStillCovers) {
  EXPECT_FALSE(trusted_allocation(context(1024, 600), m_printer));
  remember_allocation(context(1024, 600), m_alloc);
  auto env = trusted_allocation(context(1024, 600), m_printer);
  ASSERT_TRUE(env);
  const auto& a = env->data["allocation"];
  EXPECT_EQ(a["id"], "32");
  EXPECT_EQ(a["verified"], false);
  EXPECT_EQ(a["reused"], true);
  EXPECT_LE(a["time_left_s"].get<long long>(), 4140);
  EXPECT_GT(a["time_left_s"].get<long long>(), 4000);
}

TEST_F(Trusted, NotWhenItFallsShortOrIsAnotherProjects) {
  remember_allocation(context(1024, 600), m_alloc);
  EXPECT_FALSE(trusted_allocation(context(8192, 600), m_printer));  // more memory
  EXPECT_FALSE(trusted_allocation(context(1024, 7200), m_printer)); // more time than left
  EXPECT_FALSE(trusted_allocation(context(1024, 600, "other"), m_printer));
  forget_allocation(context(1024, 600));
  EXPECT_FALSE(trusted_allocation(context(1024, 600), m_printer));
}

TEST_F(Trusted, ACorruptMemoIsNoAllocation) {
  remember_allocation(context(1024, 600), m_alloc);
  for (const auto& f : std::filesystem::recursive_directory_iterator(m_home.path())) {
    if (f.path().extension() == ".json" &&
        f.path().filename().string().rfind("allocation-", 0) == 0) {
      util::atomic_write_file(f.path(), "{not json");
    }
  }
  EXPECT_FALSE(trusted_allocation(context(1024, 600), m_printer));
}
