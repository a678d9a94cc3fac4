// Bringing run output back through the real helper, and cleaning it.
#include <gtest/gtest.h>

#include "push_fixture.hpp"
#include "tccp/core/error.hpp"
#include "tccp/sync/output.hpp"
#include "tccp/sync/snapshot.hpp"

using namespace tccp::sync;
using namespace tccp::sync::testing;

namespace {

// Cuts the command's stdout after `limit` bytes: a download whose
// connection dropped at that byte.
class CutDownloadRemote : public tccp::remote::LocalRemote {
public:
  explicit CutDownloadRemote(std::uint64_t limit) : m_limit(limit) {}
  tccp::remote::ExecResult stream(const std::string& command,
                                  const tccp::remote::Producer& producer,
                                  const tccp::remote::Sink& out, const tccp::remote::Sink& err,
                                  const tccp::remote::ExecOptions& options = {}) override {
    std::string cut = "{ " + command + "; } | head -c " + std::to_string(m_limit);
    return LocalRemote::stream(cut, producer, out, err, options);
  }

private:
  std::uint64_t m_limit;
};

} // namespace

class Output : public PushFixture {
protected:
  fs::path m_local_output = m_project / "output";

  // Pushes the project and snapshots run `run` of `job`; returns its output dir.
  fs::path start_run(const std::string& run, const std::string& job,
                     const std::string& created_at = "") {
    if (!fs::exists(m_project / "main.py")) {
      put("main.py", "print(1)\n");
      push();
    }
    SnapshotRequest req;
    req.remote_root = m_root.string();
    req.project = "proj";
    req.run_id = run;
    req.job = job;
    snapshot(m_local, req);
    fs::path run_dir = target() / "runs" / run;
    if (!created_at.empty()) {
      set_status(run, "created_at=" + created_at);
    }
    return run_dir / "output";
  }

  // Adds a line to the run's status file (later lines win, as on the launch side).
  void set_status(const std::string& run, const std::string& line) {
    fs::path status = target() / "runs" / run / "status";
    write_file(status, read_file(status) + line + "\n");
  }

  PullRequest request(const std::string& job, const std::string& run = "") const {
    PullRequest r;
    r.remote_root = m_root.string();
    r.project = "proj";
    r.job = job;
    r.run_id = run;
    r.local_output = m_local_output;
    return r;
  }
};

TEST_F(Output, PullBringsTheRunOutputBackUnderTheJobWithLatest) {
  fs::path out = start_run("train-1", "train", "2026-02-15T10:30:00Z");
  write_file(out / "model.pt", "weights");
  write_file(out / "logs" / "run 1.txt", "loss=0.1\n");
  write_file(out / "odd $name;'q'" / "\xc3\xa9.csv", "1,2\n");
  write_file(out / "bin" / "tool", "#!/bin/sh\n", 0755);
  fs::create_symlink("model.pt", out / "best.pt");
  fs::create_directories(out / "empty");
  write_file(out / "cache" / "hf" / "blob", "never comes back");
  auto req = request("train");
  req.exclude = {"cache"};
  CountingRemote counted(m_local);
  auto r = pull_output(counted, req);
  EXPECT_EQ(counted.round_trips(), 2);
  EXPECT_EQ(r.round_trips, 2);
  EXPECT_EQ(r.run_id, "train-1");
  EXPECT_EQ(r.dir, m_local_output / "train" / "2026-02-15T10-30-00Z");
  EXPECT_EQ(fs::read_symlink(m_local_output / "train" / "latest"), "2026-02-15T10-30-00Z");
  fs::path got = m_local_output / "train" / "latest";
  EXPECT_EQ(read_file(got / "model.pt"), "weights");
  EXPECT_EQ(read_file(got / "logs" / "run 1.txt"), "loss=0.1\n");
  EXPECT_EQ(read_file(got / "odd $name;'q'" / "\xc3\xa9.csv"), "1,2\n");
  EXPECT_EQ(fs::read_symlink(got / "best.pt"), "model.pt");
  EXPECT_TRUE(fs::is_directory(got / "empty"));
  EXPECT_TRUE((fs::status(got / "bin" / "tool").permissions() & fs::perms::owner_exec) !=
              fs::perms::none);
  EXPECT_FALSE(fs::exists(got / "cache"));
  EXPECT_EQ(r.files_fetched, 5u);

  // Nothing new: one listing, nothing fetched.
  CountingRemote again(m_local);
  auto r2 = pull_output(again, req);
  EXPECT_EQ(again.round_trips(), 2); // symlinks are always refreshed
  EXPECT_EQ(r2.bytes_fetched, 0u);
}

TEST_F(Output, SecondPullOfUnchangedRegularFilesIsOneRoundTrip) {
  fs::path out = start_run("r1", "train");
  write_file(out / "a.txt", "a");
  pull_output(m_local, request("train"));
  CountingRemote counted(m_local);
  auto r = pull_output(counted, request("train"));
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.files_fetched, 0u);
}

TEST_F(Output, AThousandSmallFilesArriveIntact) {
  fs::path out = start_run("many", "sweep");
  for (int i = 0; i < 1000; ++i) {
    write_file(out / ("d" + std::to_string(i % 10)) / ("f" + std::to_string(i) + ".txt"),
               "file number " + std::to_string(i) + std::string(static_cast<std::size_t>(i), 'x'));
  }
  auto r = pull_output(m_local, request("sweep"));
  EXPECT_EQ(r.files_fetched, 1000u);
  std::string ours = sh("cd " + tccp::util::shell_quote(out.string()) +
                        " && find . -type f | LC_ALL=C sort | xargs sha256sum");
  std::string theirs = sh("cd " + tccp::util::shell_quote((r.dir).string()) +
                          " && find . -type f | LC_ALL=C sort | xargs sha256sum");
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(tccp::util::split(tccp::util::trim(ours), '\n').size(), 1000u);
}

TEST_F(Output, OneGigabyteFileArrivesIntact) {
  fs::path out = start_run("big", "train");
  fs::create_directories(out);
  fs::path big = out / "big.bin";
  // Sparse, with random blocks scattered through it.
  sh("truncate -s 1G " + tccp::util::shell_quote(big.string()));
  for (int mib : {0, 1, 333, 777, 1023}) {
    sh("head -c 65536 /dev/urandom | dd of=" + tccp::util::shell_quote(big.string()) +
       " bs=1M seek=" + std::to_string(mib) + " conv=notrunc status=none");
  }
  auto r = pull_output(m_local, request("train"));
  EXPECT_EQ(r.bytes_fetched, 1ull << 30);
  sh("cmp " + tccp::util::shell_quote((r.dir / "big.bin").string()) + " " +
     tccp::util::shell_quote(big.string()));
  EXPECT_FALSE(fs::exists(r.dir / ("big.bin" + std::string(part_suffix))));
}

TEST_F(Output, InterruptedDownloadKeepsThePartAndResumesFromIt) {
  fs::path out = start_run("r", "train");
  fs::create_directories(out);
  sh("head -c 20000000 /dev/urandom > " + tccp::util::shell_quote((out / "ckpt.bin").string()));
  write_file(out / "small.txt", "s");
  fs::path local = m_local_output / "train";
  CutDownloadRemote cut(8000000);
  try {
    pull_output(cut, request("train"));
    FAIL() << "a cut download must fail";
  } catch (const tccp::Error& e) {
    EXPECT_EQ(e.code(), tccp::ExitCode::unreachable);
    EXPECT_NE(e.hint().find("continues where it stopped"), std::string::npos);
  }
  // Not visible until complete; the part holds what arrived.
  fs::path stamp_dir;
  for (const auto& d : fs::directory_iterator(local)) {
    stamp_dir = d.path();
  }
  EXPECT_FALSE(fs::exists(stamp_dir / "ckpt.bin"));
  auto part = stamp_dir / ("ckpt.bin" + std::string(part_suffix));
  ASSERT_TRUE(fs::exists(part));
  auto have = fs::file_size(part);
  EXPECT_GT(have, 1000000u);
  EXPECT_FALSE(fs::exists(local / "latest"));

  CountingRemote counted(m_local);
  auto r = pull_output(counted, request("train"));
  EXPECT_EQ(r.files_resumed, 1u);
  EXPECT_EQ(r.bytes_fetched, 20000000u - have + 1u); // the rest, and small.txt
  EXPECT_EQ(sha256sum(r.dir / "ckpt.bin"), sha256sum(out / "ckpt.bin"));
  EXPECT_FALSE(fs::exists(part));
  EXPECT_TRUE(fs::is_symlink(local / "latest"));
}

TEST_F(Output, PullOfAMissingRunSaysSo) {
  put("main.py", "x");
  push();
  try {
    pull_output(m_local, request("nosuchjob"));
    FAIL();
  } catch (const tccp::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot list the output on localhost: no run of job 'nosuchjob' in project 'proj'");
  }
}

TEST_F(Output, CleanKeepsTheLatestPerJobLocallyAndOnTheCluster) {
  fs::path o1 = start_run("train-1", "train", "2026-01-01T00:00:01Z");
  write_file(o1 / "a", "1");
  fs::path o2 = start_run("train-2", "train", "2026-01-01T00:00:02Z");
  write_file(o2 / "a", "2");
  fs::path e1 = start_run("eval-1", "eval", "2026-01-01T00:00:03Z");
  write_file(e1 / "a", "e");
  for (auto* run : {"train-1", "train-2", "eval-1"}) {
    set_status(run, "state=finished");
  }
  pull_output(m_local, request("train", "train-1"));
  pull_output(m_local, request("train", "train-2"));
  pull_output(m_local, request("eval"));
  write_file(m_local_output / "notes.txt", "mine"); // the user's own file stays
  CleanRequest c;
  c.remote_root = m_root.string();
  c.project = "proj";
  c.local_output = m_local_output;
  CountingRemote counted(m_local);
  auto r = clean_output(counted, c);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.remote_cleaned, std::vector<std::string>{"train-1"});
  ASSERT_EQ(r.local_removed.size(), 1u);
  EXPECT_EQ(r.local_removed[0], m_local_output / "train" / "2026-01-01T00-00-01Z");
  EXPECT_FALSE(fs::exists(o1));
  EXPECT_TRUE(fs::exists(o2 / "a"));
  EXPECT_TRUE(fs::exists(e1 / "a"));
  EXPECT_EQ(read_file(m_local_output / "train" / "latest" / "a"), "2");
  EXPECT_EQ(read_file(m_local_output / "eval" / "latest" / "a"), "e");
  EXPECT_EQ(read_file(m_local_output / "notes.txt"), "mine");
}

TEST_F(Output, CleanLeavesARunningRunAlone) {
  fs::path o1 = start_run("t-1", "train", "2026-01-01T00:00:01Z");
  write_file(o1 / "a", "1");
  fs::path o2 = start_run("t-2", "train", "2026-01-01T00:00:02Z");
  set_status("t-1", "state=running");
  CleanRequest c;
  c.remote_root = m_root.string();
  c.project = "proj";
  c.local_output = m_local_output;
  auto r = clean_output(m_local, c);
  EXPECT_TRUE(r.remote_cleaned.empty());
  EXPECT_TRUE(fs::exists(o1 / "a"));
}
