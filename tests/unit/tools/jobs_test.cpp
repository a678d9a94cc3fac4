#include <gtest/gtest.h>

#include "tccp/tools/jobs.hpp"

using namespace tccp;
using namespace tccp::tools;

TEST(RunId, JobTimestampAndRandomSuffix) {
  auto id = make_run_id("train", 1796307754); // 2026-12-03T14:22:34Z
  EXPECT_EQ(id.substr(0, 23), "train-20261203T142234Z-");
  EXPECT_EQ(id.size(), 27U);
  EXPECT_EQ(id.substr(23).find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(RunRecord, ParsesStatusLinesAndKeepsTheLastValue) {
  auto r = parse_run_record("noise\ns|run_id=main-x\ns|state=initializing\ns|reason=a=b\n"
                            "s|state=running\n");
  EXPECT_EQ(r.id(), "main-x");
  EXPECT_EQ(r.state(), "running");
  EXPECT_EQ(r.get("reason"), "a=b");
  EXPECT_TRUE(r.alive());
  EXPECT_EQ(r.get("missing"), "");
}

TEST(RunJson, NullsForUnknownAndDurationOfAFinishedRun) {
  auto r = parse_run_record("s|run_id=main-x\ns|job=main\ns|state=failed\n"
                            "s|created_at=2026-12-03T14:22:34Z\ns|ended_at=2026-12-03T14:23:04Z\n"
                            "s|exit_code=3\ns|run_dir=/h/.tccp/projects/p/runs/main-x\n");
  auto j = run_to_json(r, 0);
  EXPECT_EQ(j["id"], "main-x");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["duration_s"], 30);
  EXPECT_TRUE(j["node"].is_null());
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_EQ(j["remote_dir"], "/h/.tccp/projects/p/runs/main-x");
}

TEST(RunJson, LiveRunDurationRunsToNow) {
  auto r = parse_run_record("s|run_id=a\ns|state=running\ns|created_at=2026-12-03T14:22:34Z\n");
  EXPECT_EQ(run_to_json(r, 1796307754 + 42)["duration_s"], 42);
}

TEST(RunExitStatus, ProgramCodeOrWhatTheStateMeans) {
  EXPECT_EQ(run_exit_status("finished", "0"), 0);
  EXPECT_EQ(run_exit_status("failed", "3"), 3);
  EXPECT_EQ(run_exit_status("failed", ""), 1);
  EXPECT_EQ(run_exit_status("failed", "0"), 1);
  EXPECT_EQ(run_exit_status("cancelled", ""), 130);
  EXPECT_EQ(run_exit_status("lost", ""), 1);
  EXPECT_EQ(run_exit_status("timeout", ""), 1);
}

namespace {
// A listing as the helper's `jobs` prints it.
std::string listing_text(const std::string& alloc_state, const std::string& run_state,
                         bool with_steps, bool step_present) {
  std::string out = "now|1796307800\n";
  if (!alloc_state.empty()) {
    out += "alloc|22|" + alloc_state +
           "|c1|batch|N/A|1G|1|9:55|10:00|0:05|2026-12-03T14:22:31|2026-12-03T14:22:30|None|"
           "tccp:proj\n";
  }
  out += "run|main-1\ns|run_id=main-1\ns|job=main\ns|state=" + run_state +
         "\ns|alloc_id=22\ns|step_id=4\ns|created_at=2026-12-03T14:22:34Z\n";
  out += "run|main-0\ns|run_id=main-0\ns|state=finished\ns|alloc_id=22\ns|exit_code=0\n";
  if (with_steps) {
    if (step_present) {
      out += "step|22.4|c1|0:03|main-1\n";
    }
    out += "step|22.batch|c1|0:05|batch\nsteps_checked|22\n";
    out += "recheck|main-1\ns|run_id=main-1\ns|job=main\ns|state=" + run_state +
           "\ns|alloc_id=22\ns|step_id=4\ns|created_at=2026-12-03T14:22:34Z\n";
  }
  return out;
}
} // namespace

TEST(JudgeRuns, RunningStepOnARunningAllocationStaysRunning) {
  auto l = parse_listing(listing_text("RUNNING", "running", true, true));
  EXPECT_TRUE(judge_runs(l).empty());
  EXPECT_EQ(l.runs[0].state(), "running");
}

TEST(JudgeRuns, AllocationCancelledFromOutsideMakesTheRunLostWithTheReason) {
  auto l = parse_listing(listing_text("CANCELLED", "running", false, false));
  auto v = judge_runs(l);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].run_id, "main-1");
  EXPECT_EQ(v[0].state, "lost");
  EXPECT_EQ(v[0].reason,
            "the allocation was cancelled outside tccp (scancel) (allocation 22: CANCELLED)");
  EXPECT_EQ(l.runs[0].state(), "lost");
  EXPECT_EQ(l.runs[0].get("ended_at"), "2026-12-03T14:23:20Z");
  EXPECT_EQ(l.runs[1].state(), "finished") << "finished runs are left alone";
}

TEST(JudgeRuns, AllocationTimeLimitIsATimeout) {
  auto l = parse_listing(listing_text("TIMEOUT", "running", false, false));
  auto v = judge_runs(l);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].state, "timeout");
  EXPECT_NE(v[0].reason.find("time limit"), std::string::npos);
}

TEST(JudgeRuns, AllocationUnknownToSqueueUsesSacctElseLost) {
  auto l = parse_listing(listing_text("", "initializing", false, false) +
                         "sacct|22|NODE_FAIL|0:0|2026-12-03T14:22:31|2026-12-03T14:30:00|c1\n");
  auto v = judge_runs(l);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].state, "lost");
  EXPECT_NE(v[0].reason.find("node failed"), std::string::npos);

  auto none = parse_listing(listing_text("", "running", false, false));
  auto w = judge_runs(none);
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w[0].reason, "allocation 22 is no longer known to SLURM");
}

TEST(JudgeRuns, StepGoneWhileTheAllocationRunsIsLost) {
  auto l = parse_listing(listing_text("RUNNING", "running", true, false));
  auto v = judge_runs(l);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].state, "lost");
  EXPECT_EQ(v[0].reason, "step 22.4 ended without writing the run's status (killed?)");
}

TEST(JudgeRuns, StatusReadAgainAfterTheStepsWins) {
  // The run ended between the first read and the steps query.
  std::string text = listing_text("RUNNING", "running", true, false);
  auto pos = text.rfind("s|state=running");
  text.replace(pos, std::string("s|state=running").size(), "s|state=finished");
  auto l = parse_listing(text);
  EXPECT_TRUE(judge_runs(l).empty());
  EXPECT_EQ(l.runs[0].state(), "finished");
}

TEST(JudgeRuns, KilledRunWhileItsAllocationEndsIsLostButNotYetRecorded) {
  auto l = parse_listing(listing_text("COMPLETING", "killed", false, false));
  auto v = judge_runs(l);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].state, "lost");
  EXPECT_FALSE(v[0].final) << "SLURM will say why the allocation ended";
  EXPECT_EQ(l.runs[0].state(), "lost");
}

TEST(JudgeRuns, KilledRunOnAnAllocationThatRunsOnIsLostForGood) {
  auto text = listing_text("RUNNING", "killed", true, false) + "s|ended_at=2026-12-03T14:20:00Z\n";
  auto l = parse_listing(text);
  auto v = judge_runs(l);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_TRUE(v[0].final);
  EXPECT_EQ(v[0].reason, "the step was killed while allocation 22 ran on");
}
