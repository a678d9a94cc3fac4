#include <gtest/gtest.h>

#include "tccp/slurm/squeue.hpp"

using namespace tccp::slurm;

TEST(GpuGres, ParsesTypedAndUntypedForms) {
  EXPECT_EQ(parse_gpu_gres("gres:gpu:a100:1"), (GpuSpec{"a100", 1}));
  EXPECT_EQ(parse_gpu_gres("gres:gpu:a100:2"), (GpuSpec{"a100", 2}));
  EXPECT_EQ(parse_gpu_gres("gres:gpu:2"), (GpuSpec{"", 2}));
  EXPECT_EQ(parse_gpu_gres("gres/gpu:t4=2"), (GpuSpec{"t4", 2}));
  EXPECT_EQ(parse_gpu_gres("gpu:a100:1(IDX:0)"), (GpuSpec{"a100", 1}));
  EXPECT_EQ(parse_gpu_gres("gres:tmp:10,gres:gpu:t4:1"), (GpuSpec{"t4", 1}));
  EXPECT_EQ(parse_gpu_gres("N/A"), (GpuSpec{"", 0}));
  EXPECT_EQ(parse_gpu_gres(""), (GpuSpec{"", 0}));
}

// Lines recorded from SLURM 22.05.8 with the job format.
TEST(SqueueParse, RunningHolderHasNodeAndTimeLeft) {
  auto job = parse_squeue_job(
      "41|RUNNING|c1|gpu|gres:gpu:a100:1|32G|4|59:41|1:00:00|0:19|2026-12-03T12:59:44|"
      "2026-12-03T12:59:43|None|tccp:demo");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->id, "41");
  EXPECT_EQ(job->state, JobState::running);
  EXPECT_EQ(job->node, "c1");
  EXPECT_EQ(job->partition, "gpu");
  EXPECT_EQ(job->gpu, (GpuSpec{"a100", 1}));
  EXPECT_EQ(job->memory_mb, 32768);
  EXPECT_EQ(job->cpus, 4);
  EXPECT_EQ(job->time_left.as_optional(), 59 * 60 + 41);
  EXPECT_EQ(job->time_limit.as_optional(), 3600);
  EXPECT_EQ(job->elapsed.as_optional(), 19);
  EXPECT_EQ(job->reason, "None");
  EXPECT_EQ(job->name, "tccp:demo");
}

TEST(SqueueParse, PendingJobHasNullNodeAndReason) {
  auto job = parse_squeue_job("12|PENDING||gpu|gres:gpu:a100:2|32G|4|5:00|5:00|0:00|N/A|"
                              "2026-12-03T12:59:43|Resources|tccp:demo");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::pending);
  EXPECT_FALSE(job->node.has_value());
  EXPECT_FALSE(job->start_time.has_value());
  EXPECT_EQ(job->reason, "Resources");
}

TEST(SqueueParse, LongReasonWithSpacesAndNameWithBar) {
  auto job = parse_squeue_job("15|PENDING|(null)|batch|N/A|500M|1|UNLIMITED|UNLIMITED|0:00|N/A|"
                              "2026-12-03T12:59:43|Nodes required for job are DOWN, DRAINED or "
                              "reserved for jobs in higher priority partitions|tccp:a|b");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->name, "tccp:a|b");
  EXPECT_EQ(job->time_left.kind, Duration::Kind::unlimited);
  EXPECT_EQ(describe_pending_reason(job->reason),
            "the nodes it needs are down, drained or kept for jobs of a higher-priority "
            "partition");
}

TEST(SqueueParse, SkipsErrorsAndBlankLines) {
  auto jobs = parse_squeue_jobs("slurm_load_jobs error: Invalid job id specified\n\n"
                                "7|COMPLETED|c2|batch|N/A|4G|1|0:00|1:00|0:01|"
                                "2026-12-03T12:59:47|2026-12-03T12:59:47|None|tccp:x\n");
  ASSERT_EQ(jobs.size(), 1U);
  EXPECT_EQ(jobs[0].state, JobState::completed);
  EXPECT_TRUE(is_finished(jobs[0].state));
}

TEST(SqueueParse, StepLine) {
  auto step = parse_squeue_step("4.0|c1|0:03|sleep");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->job_id, "4");
  EXPECT_EQ(step->step_id, "0");
  EXPECT_EQ(step->node, "c1");
  EXPECT_EQ(step->elapsed.as_optional(), 3);
  EXPECT_FALSE(parse_squeue_step("4|c1|0:03|sleep"));
}

TEST(SqueueArgv, NamesAndIds) {
  auto argv = squeue_jobs_argv({"tccp:demo"}, {"4", "5"}, IncludeFinished::yes);
  EXPECT_EQ(argv, (std::vector<std::string>{"squeue", "-h", "--me", "-t", "all", "--name=tccp:demo",
                                            "--jobs=4,5", "-o", std::string(job_format)}));
}

TEST(JobStates, ParsesLongShortAndSacctForms) {
  EXPECT_EQ(parse_job_state("RUNNING"), JobState::running);
  EXPECT_EQ(parse_job_state("PD"), JobState::pending);
  EXPECT_EQ(parse_job_state("CANCELLED by 1001"), JobState::cancelled);
  EXPECT_EQ(parse_job_state("TIMEOUT"), JobState::timeout);
  EXPECT_EQ(parse_job_state("NODE_FAIL"), JobState::node_fail);
  EXPECT_EQ(parse_job_state("WHATEVER"), JobState::other);
  EXPECT_TRUE(is_active(JobState::completing));
  EXPECT_FALSE(is_finished(JobState::pending));
  EXPECT_TRUE(is_finished(JobState::timeout));
}

TEST(PendingReasons, HopelessOnesAreRecognised) {
  EXPECT_TRUE(is_hopeless_reason("PartitionTimeLimit"));
  EXPECT_TRUE(is_hopeless_reason("BadConstraints"));
  EXPECT_FALSE(is_hopeless_reason("Resources"));
  EXPECT_FALSE(is_hopeless_reason("Priority"));
  EXPECT_EQ(describe_pending_reason("Priority"), "waiting for jobs with a higher priority");
  EXPECT_EQ(describe_pending_reason("SomethingNew"), "SomethingNew");
}
