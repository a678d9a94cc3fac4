// The remote helper's run and log commands, run here with LocalRemote (no
// SLURM needed for what happens inside a step).
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "tccp/generated/remote_helper.hpp"
#include "tccp/tools/jobs.hpp"
#include "tccp/tools/launch_tool.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

using namespace tccp;
using namespace tccp::tools;
namespace fs = std::filesystem;

namespace {
void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string read(const fs::path& p) {
  return util::read_file_if_exists(p).value_or("");
}

class HelperRun : public ::testing::Test {
protected:
  void SetUp() override {
    m_root = m_dir.path() / "root with space";
    fs::create_directories(m_root);
  }

  // Lays out a run directory the way run_start does (without srun).
  fs::path make_run(const std::string& run_id, const proto::Json& data) {
    fs::path run = m_root / "projects" / "demo" / "runs" / run_id;
    fs::create_directories(run / ".tccp");
    write(run / "main.py", "import sys, os\n"
                           "print('args', sys.argv[1:])\n"
                           "print('env', os.environ.get('GREETING'), os.environ.get('SECRET'))\n"
                           "print('unbuffered', os.environ.get('PYTHONUNBUFFERED'))\n"
                           "os.makedirs('output', exist_ok=True)\n"
                           "sys.exit(int(os.environ.get('RC', '0')))\n");
    write(run / ".env", "# secrets\nexport SECRET='s3 cret'\n");
    write(run / ".tccp" / "spec", build_run_spec(data, run_id, {"extra one"}));
    write(run / "status", "run_id=" + run_id +
                              "\nproject=demo\njob=main\nstate=initializing\n"
                              "alloc_id=41\ncreated_at=2026-12-03T14:22:34Z\n");
    return run;
  }

  proto::Json data(const std::string& python, const std::string& rc) {
    return {{"project", "demo"},
            {"job", "main"},
            {"type", "python"},
            {"script", "main.py"},
            {"args", {"a b", "$c"}},
            {"env_file", ".env"},
            {"output", "output"},
            {"cache", "cache"},
            {"environment", {{"GREETING", "hello there"}, {"RC", rc}}},
            {"resources", {{"time_limit_s", 600}}},
            {"cluster", {{"python", python}, {"system_site_packages", true}}},
            {"allocation", {{"id", "41"}, {"node", "c1"}}}};
  }

  util::TempDir m_dir{"tccp-helper-test"};
  fs::path m_root;
  remote::LocalRemote m_local;
};
} // namespace

TEST_F(HelperRun, InstallsItselfOnceAndAnswers) {
  auto r = call_helper(m_local, m_root.string(), "ping", {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "pong " + std::string(generated::remote_helper_hash) + "\n");
  EXPECT_TRUE(
      fs::exists(m_root / "bin" / ("tccp-remote-" + std::string(generated::remote_helper_hash))));
}

TEST_F(HelperRun, RunsTheProgramInAVenvAndRecordsItsExitCode) {
  auto run = make_run("main-1", data("/usr/bin/python3", "3"));
  auto r = call_helper(m_local, m_root.string(), "run_inner", {run.string(), "none"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto status = parse_run_record(util::join(
      [&] {
        std::vector<std::string> lines;
        for (const auto& l : util::split(read(run / "status"), '\n')) {
          lines.push_back("s|" + l);
        }
        return lines;
      }(),
      "\n"));
  EXPECT_EQ(status.state(), "failed");
  EXPECT_EQ(status.get("exit_code"), "3");
  EXPECT_EQ(status.get("reason"), "the program exited with code 3");
  EXPECT_FALSE(status.get("started_at").empty());
  EXPECT_FALSE(status.get("ended_at").empty());
  EXPECT_EQ(read(run / "tccp.log"), "args ['a b', '$c', 'extra one']\n"
                                    "env hello there s3 cret\n"
                                    "unbuffered 1\n");
  // Every stage is timed.
  auto times = read(run / ".tccp" / "init.times");
  for (const char* stage :
       {"runtime|", "python|", "requirements|", "venv|", "install|", "workdir|"}) {
    EXPECT_NE(times.find(stage), std::string::npos) << stage << " in " << times;
  }
  EXPECT_TRUE(fs::is_symlink(run / "cache"));
  EXPECT_TRUE(fs::is_directory(run / "output"));

  // A second run with the same requirements reuses the venv.
  auto again = make_run("main-2", data("/usr/bin/python3", "0"));
  auto r2 = call_helper(m_local, m_root.string(), "run_inner", {again.string(), "none"});
  EXPECT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(read(again / ".tccp" / "init.times").find("|cached"), std::string::npos)
      << read(again / ".tccp" / "init.times");
  EXPECT_NE(read(again / "status").find("state=finished"), std::string::npos);

  // logs: the whole log, the tail, the init log; the run is named on stderr.
  auto cat = call_helper(m_local, m_root.string(), "logs", {"demo", "main-1", "cat"});
  EXPECT_EQ(cat.out, read(run / "tccp.log"));
  EXPECT_NE(cat.err.find("run|main-1|failed"), std::string::npos);
  auto tail = call_helper(m_local, m_root.string(), "logs", {"demo", "main-1", "tail", "1"});
  EXPECT_EQ(tail.out, "unbuffered 1\n");
  auto init = call_helper(m_local, m_root.string(), "logs", {"demo", "main-1", "init"});
  EXPECT_NE(init.out.find("[tccp] venv: created in"), std::string::npos);
  // A finished run's follow prints everything and its end.
  auto follow = call_helper(m_local, m_root.string(), "logs", {"demo", "main-1", "follow"});
  EXPECT_EQ(follow.out, read(run / "tccp.log"));
  EXPECT_NE(follow.err.find("tccp-status|failed|3||the program exited with code 3"),
            std::string::npos);
}

TEST_F(HelperRun, AFailingStageStopsTheRunWithExitOne) {
  auto run = make_run("main-1", data("/nonexistent/python3", "0"));
  auto r = call_helper(m_local, m_root.string(), "run_inner", {run.string(), "none"});
  EXPECT_EQ(r.exit_code, 1);
  auto status = read(run / "status");
  EXPECT_NE(status.find("state=failed"), std::string::npos);
  EXPECT_NE(status.find("failed_stage=python"), std::string::npos);
  EXPECT_NE(read(run / "init.log").find("no '/nonexistent/python3'"), std::string::npos);
  EXPECT_EQ(read(run / "tccp.log"), "");
}

TEST_F(HelperRun, PytorchTypeDropsWhatTheBaseProvides) {
  auto d = data("/usr/bin/python3", "0");
  d["type"] = "python-pytorch";
  auto run = make_run("main-1", d);
  write(run / "requirements.txt", "# model\ntorch>=2.0\ntorchvision\nTorchaudio==2.6 # pinned\n"
                                  "nvidia-cudnn-cu12==9.1\ntriton\n\n");
  auto r = call_helper(m_local, m_root.string(), "run_inner", {run.string(), "none"});
  EXPECT_EQ(r.exit_code, 0) << r.err << read(run / "init.log");
  EXPECT_EQ(read(run / ".tccp" / "requirements.txt"), "");
  EXPECT_NE(read(run / ".tccp" / "init.times").find("|nothing to install"), std::string::npos);
  EXPECT_NE(read(run / "status").find("venv=python-pytorch-py"), std::string::npos);
}

TEST_F(HelperRun, UnknownRunOrJobIsAnError) {
  call_helper(m_local, m_root.string(), "ping", {});
  auto r = call_helper(m_local, m_root.string(), "logs", {"demo", "nosuch", "cat"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(helper_message(r), "no run of job 'nosuch' in project 'demo' on the cluster");
}
