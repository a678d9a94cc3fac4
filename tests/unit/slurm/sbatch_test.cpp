#include <gtest/gtest.h>

#include "tccp/slurm/sacct.hpp"
#include "tccp/slurm/sbatch.hpp"

using namespace tccp;
using namespace tccp::slurm;

namespace {
ResourceRequest gpu_request() {
  ResourceRequest r;
  r.gpu = {"a100", 1};
  r.memory_mb = 32768;
  r.cpus = 4;
  r.time_limit_s = 3600;
  return r;
}

SqueueJob holder(GpuSpec gpu, long long mem, int cpus, long long left,
                 const std::string& partition = "gpu") {
  SqueueJob j;
  j.id = "9";
  j.state = JobState::running;
  j.node = "c1";
  j.partition = partition;
  j.gpu = std::move(gpu);
  j.memory_mb = mem;
  j.cpus = cpus;
  j.time_left = Duration::of(left);
  return j;
}
} // namespace

TEST(HolderSbatch, GpuRequestHasGresMemCpusTimePartition) {
  auto r = gpu_request();
  r.partition = choose_partition(r, "gpu", "");
  r.exclude_nodes = {"c2", "c3"};
  auto args = holder_sbatch_options(r, "tccp:demo");
  EXPECT_EQ(args, (std::vector<std::string>{"--parsable", "--job-name=tccp:demo", "--no-requeue",
                                            "--nodes=1", "--ntasks=1", "--gres=gpu:a100:1",
                                            "--mem=32768M", "--cpus-per-task=4", "--time=01:00:00",
                                            "--partition=gpu", "--exclude=c2,c3"}));
}

TEST(HolderSbatch, CpuRequestHasNoGresAndNoPartitionByDefault) {
  ResourceRequest r;
  r.partition = choose_partition(r, "gpu", "");
  auto args = holder_sbatch_options(r, "tccp:p");
  EXPECT_EQ(std::count_if(args.begin(), args.end(),
                          [](const std::string& a) {
                            return a.rfind("--gres", 0) == 0 || a.rfind("--partition", 0) == 0;
                          }),
            0);
}

TEST(ChoosePartition, ExplicitThenGpuThenDefault) {
  auto r = gpu_request();
  EXPECT_EQ(choose_partition(r, "gpu", "batch"), "gpu");
  r.partition = "preempt";
  EXPECT_EQ(choose_partition(r, "gpu", "batch"), "preempt");
  ResourceRequest cpu;
  EXPECT_EQ(choose_partition(cpu, "gpu", "batch"), "batch");
  EXPECT_EQ(choose_partition(cpu, "gpu", ""), "");
}

TEST(HolderTime, TwiceTheJobAndAtLeastAnHourMoreWithinThePartition) {
  EXPECT_EQ(holder_time_limit_s(600, Duration::unknown()), 600 + 3600);
  EXPECT_EQ(holder_time_limit_s(8 * 3600, Duration::unlimited()), 16 * 3600);
  EXPECT_EQ(holder_time_limit_s(20 * 3600, Duration::of(86400)), 86400);
  EXPECT_EQ(holder_time_limit_s(2 * 86400, Duration::of(86400)), 2 * 86400)
      << "never below the job's own time (SLURM then says PartitionTimeLimit)";
}

TEST(SbatchParsable, ReadsIdWithAndWithoutCluster) {
  EXPECT_EQ(parse_sbatch_job_id("123\n"), "123");
  EXPECT_EQ(parse_sbatch_job_id("123;tccptest\n"), "123");
  EXPECT_FALSE(parse_sbatch_job_id("sbatch: error: x\n"));
}

TEST(SbatchRefusal, BadPartitionInWords) {
  ResourceRequest r;
  r.partition = "nosuch";
  auto e = explain_sbatch_refusal("sbatch: error: invalid partition specified: nosuch\n"
                                  "sbatch: error: Batch job submission failed: Invalid partition "
                                  "name specified\n",
                                  r);
  EXPECT_EQ(e.code(), ExitCode::refused);
  EXPECT_EQ(std::string(e.what()),
            "the cluster has no partition 'nosuch' (SLURM: Batch job submission failed: Invalid "
            "partition name specified)");
  EXPECT_FALSE(e.hint().empty());
}

TEST(SbatchRefusal, ImpossibleGpuRequest) {
  auto r = gpu_request();
  r.gpu = {"a100", 3};
  auto e = explain_sbatch_refusal("sbatch: error: Batch job submission failed: Requested node "
                                  "configuration is not available\n",
                                  r);
  EXPECT_EQ(e.code(), ExitCode::refused);
  EXPECT_NE(std::string(e.what()).find("3 a100 GPUs, 32768 MB of memory, 4 CPUs"),
            std::string::npos);
}

TEST(SbatchRefusal, MemoryAndQos) {
  ResourceRequest r;
  r.memory_mb = 999999;
  auto mem = explain_sbatch_refusal(
      "sbatch: error: Memory specification can not be satisfied\n"
      "sbatch: error: Batch job submission failed: Requested node configuration is not available",
      r);
  EXPECT_EQ(mem.code(), ExitCode::refused);
  auto qos = explain_sbatch_refusal("sbatch: error: Batch job submission failed: Job violates "
                                    "accounting/QOS policy (job submit limit, user's size and/or "
                                    "time limits)\n",
                                    r);
  EXPECT_NE(std::string(qos.what()).find("QOS"), std::string::npos);
}

TEST(AllocationCovers, SameGpuEnoughMemoryCpusAndTime) {
  auto r = gpu_request();
  EXPECT_TRUE(covers(holder({"a100", 1}, 32768, 4, 3600), r));
  EXPECT_TRUE(covers(holder({"a100", 2}, 65536, 8, 7200), r));
}

TEST(AllocationCovers, RefusesWhatFallsShort) {
  auto r = gpu_request();
  EXPECT_FALSE(covers(holder({"a100", 1}, 32768, 4, 3599), r)) << "time left";
  EXPECT_FALSE(covers(holder({"a100", 1}, 16384, 4, 7200), r)) << "memory";
  EXPECT_FALSE(covers(holder({"a100", 1}, 32768, 2, 7200), r)) << "cpus";
  EXPECT_FALSE(covers(holder({"t4", 1}, 32768, 4, 7200), r)) << "gpu type";
  EXPECT_FALSE(covers(holder({"", 0}, 32768, 4, 7200), r)) << "no gpu";
  ResourceRequest cpu;
  EXPECT_FALSE(covers(holder({"a100", 1}, 32768, 4, 7200), cpu)) << "cpu job on gpu alloc";
  EXPECT_TRUE(covers(holder({"", 0}, 4096, 1, 7200, "batch"), cpu));
  cpu.partition = "other";
  EXPECT_FALSE(covers(holder({"", 0}, 4096, 1, 7200, "batch"), cpu)) << "partition";
  cpu.partition.clear();
  cpu.exclude_nodes = {"c1"};
  EXPECT_FALSE(covers(holder({"", 0}, 4096, 1, 7200, "batch"), cpu)) << "excluded node";
}

TEST(AllocationCovers, UnlimitedTimeLeftCovers) {
  auto a = holder({"", 0}, 4096, 1, 0, "batch");
  a.time_left = Duration::unlimited();
  EXPECT_TRUE(covers(a, ResourceRequest{}));
}

TEST(SacctParse, CancelledByUserAndExitCodes) {
  auto recs = parse_sacct("4|CANCELLED by 1001|0:15|2026-12-03T12:59:44|2026-12-03T13:00:44|c1\n"
                          "4.0|FAILED|3:0|2026-12-03T12:59:45|2026-12-03T13:00:00|c1\n");
  ASSERT_EQ(recs.size(), 2U);
  EXPECT_EQ(recs[0].state, JobState::cancelled);
  EXPECT_EQ(recs[0].signal, 15);
  EXPECT_EQ(recs[1].job_id, "4.0");
  EXPECT_EQ(recs[1].exit_code, 3);
  EXPECT_FALSE(parse_sacct_line("JobID|State|ExitCode|Start|End|NodeList"));
}
