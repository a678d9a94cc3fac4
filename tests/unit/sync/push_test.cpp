// Pushing through the real remote helper (LocalRemote runs it under dash).
#include <gtest/gtest.h>

#include "push_fixture.hpp"
#include "tccp/core/error.hpp"
#include "tccp/sync/hash.hpp"
#include "tccp/sync/snapshot.hpp"

using namespace tccp::sync;
using namespace tccp::sync::testing;

class Push : public PushFixture {};

TEST_F(Push, FirstPushSendsTheTreeInOneRoundTripAndShowsAPreview) {
  put("train.py", "print('hi')\n");
  put("lib/util.py", "x = 1\n");
  put("run.sh", "#!/bin/sh\necho run\n", 0755);
  fs::create_symlink("lib/util.py", m_project / "alias.py");
  CountingRemote counted(m_local);
  RecordingObserver obs;
  auto r = push(counted, &obs);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.round_trips, 1);
  EXPECT_TRUE(r.first_push);
  EXPECT_EQ(obs.previews, 1);
  EXPECT_EQ(obs.last_preview.files, 4u);
  EXPECT_EQ(r.tree.files_sent, 4u + 1u); // + the lib/ directory
  EXPECT_EQ(r.tree.digest, remote_digest());
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(Push, UnchangedTreeSendsNoFileBytesInOneRoundTrip) {
  put("a.py", "a");
  put("b/c.py", "c");
  push();
  CountingRemote counted(m_local);
  RecordingObserver obs;
  auto r = push(counted, &obs);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.tree.files_sent, 0u);
  EXPECT_EQ(r.tree.bytes_sent, 0u);
  EXPECT_EQ(r.files_hashed, 0u); // the index answered for every file
  EXPECT_FALSE(r.first_push);
  EXPECT_EQ(obs.previews, 0);
  // The whole stream is the control header, not the files.
  EXPECT_LT(counted.bytes_sent(), 8192u);
}

TEST_F(Push, DeferredWhenUnchangedAsksNothingAndAChangeStillTravels) {
  put("a.py", "a");
  auto first = push();
  auto s = spec();
  s.defer_unchanged = true;
  CountingRemote counted(m_local);
  auto r = push(counted, nullptr, &s);
  EXPECT_EQ(counted.round_trips(), 0);
  EXPECT_TRUE(r.tree.deferred);
  EXPECT_EQ(r.tree.digest, first.tree.digest);
  put("a.py", "changed");
  CountingRemote again(m_local);
  auto r2 = push(again, nullptr, &s);
  EXPECT_EQ(again.round_trips(), 1);
  EXPECT_FALSE(r2.tree.deferred);
  EXPECT_EQ(r2.tree.digest, remote_digest());
  // Nothing remembered (a new clone): asked, never deferred.
  fs::remove_all(m_state);
  CountingRemote fresh(m_local);
  EXPECT_FALSE(push(fresh, nullptr, &s).tree.deferred);
  EXPECT_EQ(fresh.round_trips(), 1);
}

TEST_F(Push, OneChangedFileAmongTenThousandIsTheOnlyOneThatTravels) {
  for (int d = 0; d < 100; ++d) {
    for (int f = 0; f < 100; ++f) {
      std::string rel = "d" + std::to_string(d) + "/f" + std::to_string(f) + ".py";
      write_file(m_project / rel, "x = " + std::to_string(d * 100 + f) + "\n");
    }
  }
  sh("find " + tccp::util::shell_quote(m_project.string()) +
     " -exec touch -h -d '1 hour ago' {} +");
  auto first = push();
  EXPECT_EQ(first.tree.files_total, 10000u);
  put("d42/f7.py", "x = 'changed, and longer than before'\n");
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.tree.files_sent, 1u);
  EXPECT_EQ(r.tree.bytes_sent, std::string("x = 'changed, and longer than before'\n").size());
  EXPECT_EQ(r.files_hashed, 1u);
  EXPECT_LT(counted.bytes_sent(), 8192u);
  EXPECT_EQ(read_file(remote_tree() / "d42/f7.py"), "x = 'changed, and longer than before'\n");
  EXPECT_EQ(read_file(remote_tree() / "d42/f8.py"), "x = 4208\n");
}

TEST_F(Push, DeletesPropagate) {
  put("keep.py", "k");
  put("gone.py", "g");
  put("olddir/a.py", "a");
  put("olddir/sub/b.py", "b");
  push();
  fs::remove(m_project / "gone.py");
  fs::remove_all(m_project / "olddir");
  auto r = push();
  EXPECT_EQ(r.tree.deleted, 5u); // gone.py, olddir, olddir/a.py, olddir/sub, olddir/sub/b.py
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(Push, KindChangesBetweenFileDirectoryAndSymlink) {
  put("x", "file");
  put("y/inner.py", "i");
  fs::create_symlink("x", m_project / "z");
  push();
  fs::remove(m_project / "x");
  put("x/now-a-dir.py", "d");
  fs::remove_all(m_project / "y");
  put("y", "now a file");
  fs::remove(m_project / "z");
  put("z", "was a link", 0755);
  push();
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(Push, ExecBitsAndSymlinksAreKept) {
  put("bin/run", "#!/bin/sh\n", 0755);
  put("plain.txt", "p", 0644);
  fs::create_symlink("../plain.txt", m_project / "bin" / "link");
  fs::create_symlink("dangling-target", m_project / "dangling");
  push();
  auto remote = snapshot_of(remote_tree());
  EXPECT_EQ(remote["bin/run"], "x:#!/bin/sh\n");
  EXPECT_EQ(remote["plain.txt"], "f:p");
  EXPECT_EQ(remote["bin/link"], "l:../plain.txt");
  EXPECT_EQ(remote["dangling"], "l:dangling-target");
  // Mode changes alone travel too.
  fs::permissions(m_project / "plain.txt", fs::perms::owner_exec, fs::perm_options::add);
  auto r = push();
  EXPECT_EQ(r.tree.files_sent, 1u);
  EXPECT_EQ(snapshot_of(remote_tree())["plain.txt"], "x:p");
}

TEST_F(Push, NamesWithSpacesUnicodeAndShellMetacharacters) {
  std::vector<std::string> names = {"a b.py",
                                    "\xc3\xa9t\xc3\xa9.py",
                                    "$(rm -rf x).py",
                                    "it's \"q\".py",
                                    "semi;colon&amp|pipe",
                                    "-leading-dash",
                                    "back\\slash",
                                    "new\nline",
                                    "tab\there",
                                    "*star?[x]",
                                    "dir with space/inner file.py"};
  for (const auto& n : names) {
    put(n, "content of " + n);
  }
  push();
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
  fs::remove(m_project / "new\nline");
  put("a b.py", "changed");
  push();
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(Push, EnvFileIsSyncedWhenIgnoredAndPrivateOnTheCluster) {
  put(".gitignore", ".env\n");
  put(".env", "API_KEY=s3cr3t-value\n", 0644);
  put("a.py", "a");
  RecordingObserver obs;
  auto r = push(m_local, &obs);
  struct stat st {};
  ASSERT_EQ(::stat((remote_tree() / ".env").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(read_file(remote_tree() / ".env"), "API_KEY=s3cr3t-value\n");
  for (const auto& f : obs.last_preview.largest_files) {
    EXPECT_NE(f.path, ".env");
  }
  for (const auto& n : obs.notes) {
    EXPECT_EQ(n.find("s3cr3t"), std::string::npos);
  }
  // A file becoming the env file is re-sent private.
  auto s = spec();
  put("other.env", "TOKEN=t0ken\n");
  push();
  s.env_file = "other.env";
  push(m_local, nullptr, &s);
  ASSERT_EQ(::stat((remote_tree() / "other.env").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(Push, WipedClusterTreeIsRebuiltWithOneManifestExchange) {
  put("a.py", "a");
  put("b.py", "b");
  push();
  fs::remove_all(m_root / "projects");
  CountingRemote counted(m_local);
  RecordingObserver obs;
  auto r = push(counted, &obs);
  EXPECT_EQ(counted.round_trips(), 2);
  EXPECT_EQ(r.tree.files_sent, 2u);
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
  ASSERT_FALSE(obs.notes.empty());
}

TEST_F(Push, AnotherLaptopsPushIsDetectedAndConverges) {
  put("a.py", "a");
  push();
  // A second client (its own state dir) pushes another version.
  tccp::util::TempDir other("tccp-other");
  write_file(other.path() / "a.py", "from the other laptop");
  write_file(other.path() / "extra.py", "e");
  auto s2 = spec();
  s2.project_dir = other.path();
  s2.state_dir = other.path() / ".state";
  write_file(other.path() / ".tccpignore", ".state/\n");
  push(m_local, nullptr, &s2);
  // Back on the first laptop: one mismatch answer (with the manifest), one delta.
  put("b.py", "b");
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 2);
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
  EXPECT_EQ(r.tree.deleted, 2u); // extra.py and .tccpignore
}

TEST_F(Push, NoStateButSameTreeOnClusterTakesNoFileBytes) {
  put("a.py", "a");
  push();
  fs::remove_all(m_state);
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 1); // the mismatch answer already proves equality
  EXPECT_EQ(r.tree.files_sent, 0u);
}

TEST_F(Push, StreamCutAtAnyByteLeavesTheTreeAsItWas) {
  put("a.py", std::string(3000, 'a'));
  put("b/c.py", "c");
  push();
  auto before = snapshot_of(remote_tree());
  std::string digest_before = remote_digest();
  put("a.py", std::string(5000, 'A'));
  put("new.py", std::string(700, 'n'));
  fs::remove(m_project / "b/c.py");
  // Size of the full push stream, measured on a copy.
  tccp::util::TempDir copy("tccp-measure");
  sh("cp -a " + tccp::util::shell_quote(m_root.string()) + " " +
     tccp::util::shell_quote((copy.path() / "r").string()) + " && cp -a " +
     tccp::util::shell_quote(m_state.string()) + " " +
     tccp::util::shell_quote((copy.path() / "s").string()));
  auto measure = spec();
  measure.remote_root = (copy.path() / "r").string();
  measure.state_dir = copy.path() / "s";
  CountingRemote counted(m_local);
  push(counted, nullptr, &measure);
  std::uint64_t total = counted.bytes_sent();
  ASSERT_GT(total, 6000u);
  std::vector<std::uint64_t> cuts = {0, 1, 511, 512, 513, 1024, 1536, total / 2};
  for (std::uint64_t c = 2048; c + 1 < total; c += 509) {
    cuts.push_back(c);
  }
  for (std::uint64_t back : {1, 2, 100, 511, 512, 513, 1024, 1025}) {
    cuts.push_back(total - back);
  }
  // The last member holds the end marker (one header and one data block);
  // after it only the end-of-archive blocks remain. A cut before the marker
  // must fail and leave the old tree; a cut after it may complete the push.
  // Either way the tree is the old one or the new one, never a mix.
  std::sort(cuts.begin(), cuts.end());
  const std::uint64_t marker_complete = total - 1024 - 512 + 65;
  int completed = 0;
  for (auto cut : cuts) {
    TruncatingRemote cutting(cut);
    bool failed = false;
    try {
      push(cutting);
    } catch (const tccp::Error&) {
      failed = true;
    }
    if (cut < marker_complete) {
      EXPECT_TRUE(failed) << "cut at " << cut << " of " << total;
    }
    if (failed) {
      EXPECT_EQ(remote_digest(), digest_before) << "cut at " << cut;
      EXPECT_EQ(snapshot_of(remote_tree()), before) << "cut at " << cut;
    } else {
      ++completed;
      EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project)) << "cut at " << cut;
      break; // the cluster holds the new tree now
    }
  }
  EXPECT_LE(completed, 1);
  push();
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
  // Interrupted pushes leave no staging directories behind once swept.
  int staging = 0;
  for (const auto& e : fs::directory_iterator(target())) {
    std::string name = e.path().filename().string();
    staging += name.rfind("stage.", 0) == 0 || name == "commit" ? 1 : 0;
  }
  EXPECT_EQ(staging, 0);
}

TEST_F(Push, ConnectionKilledInTheMiddleOfA100MBPushThenTheNextPushCompletes) {
  put("small.py", "s");
  push();
  auto before = snapshot_of(remote_tree());
  // 100 MB of data that does not compress to nothing.
  sh("head -c 104857600 /dev/urandom > " +
     tccp::util::shell_quote((m_project / "big.bin").string()));
  settle(m_project / "big.bin");
  KillingRemote killer(50u << 20, m_tmp.path() / "helper.pid");
  try {
    push(killer);
    FAIL() << "the push must fail when the remote side dies";
  } catch (const tccp::Error& e) {
    EXPECT_EQ(e.code(), tccp::ExitCode::failed);
    EXPECT_NE(std::string(e.what()).find("killed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(killer.fired());
  EXPECT_EQ(snapshot_of(remote_tree()), before);
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.tree.files_sent, 1u);
  EXPECT_EQ(sha256sum(remote_tree() / "big.bin"), sha256sum(m_project / "big.bin"));
}

TEST_F(Push, SymlinkLeavingTheProjectIsRefusedWithAClearMessage) {
  put("a.py", "a");
  fs::create_symlink("/etc/hostname", m_project / "host");
  try {
    push();
    FAIL() << "expected a refusal";
  } catch (const tccp::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "symlink 'host' points outside the project (to '/etc/hostname')");
  }
  EXPECT_FALSE(fs::exists(target() / "digest"));
}

TEST_F(Push, RodataIsPushedOncePerAllocationAndLeftOutOfTheTree) {
  put("a.py", "a");
  put("data/train.csv", "1,2\n");
  put("data/val.csv", "3,4\n");
  put(".gitignore", "data/\n");
  auto s = spec();
  s.rodata = {"data"};
  s.allocation_id = "1001";
  CountingRemote c1(m_local);
  auto r1 = push(c1, nullptr, &s);
  EXPECT_EQ(c1.round_trips(), 2);
  ASSERT_EQ(r1.rodata.size(), 1u);
  EXPECT_FALSE(r1.rodata[0].skipped);
  EXPECT_EQ(r1.rodata[0].files_sent, 2u);
  EXPECT_FALSE(fs::exists(remote_tree() / "data"));
  EXPECT_EQ(read_file(target() / "rodata" / "data" / "tree" / "train.csv"), "1,2\n");
  // Same allocation: rodata is not even looked at.
  put("data/val.csv", "changed but same allocation\n");
  CountingRemote c2(m_local);
  auto r2 = push(c2, nullptr, &s);
  EXPECT_EQ(c2.round_trips(), 1);
  EXPECT_TRUE(r2.rodata[0].skipped);
  // A new allocation: pushed again, incrementally.
  s.allocation_id = "1002";
  CountingRemote c3(m_local);
  auto r3 = push(c3, nullptr, &s);
  EXPECT_EQ(c3.round_trips(), 2);
  EXPECT_EQ(r3.rodata[0].files_sent, 1u);
  EXPECT_EQ(read_file(target() / "rodata" / "data" / "tree" / "val.csv"),
            "changed but same allocation\n");
}

TEST_F(Push, ListShowsWhatAPushConsidersWithRodataMarked) {
  put("a.py", "a");
  put("skip.log", "l");
  put(".gitignore", "*.log\n.env\ndata/\n");
  put(".env", "K=V\n");
  put("data/x.csv", "x");
  put("output/result.txt", "r");
  auto s = spec();
  s.rodata = {"data"};
  std::vector<std::string> got;
  for (const auto& p : list_paths(s)) {
    got.push_back(p.path + (p.rodata ? " [rodata]" : "") +
                  (p.kind == EntryKind::secret ? " [env]" : ""));
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{".env [env]", ".gitignore", "a.py", "data/x.csv [rodata]"}));
}

TEST_F(Push, BigProjectPreviewWarnsWithAnIgnoreLine) {
  for (int i = 0; i < 10001; ++i) {
    write_file(m_project / "frames" / (std::to_string(i) + ".png"), "p");
  }
  put("train.py", "t");
  auto preview = make_preview(scan_tree([&] {
    ScanOptions o;
    o.root = m_project;
    return o;
  }()));
  EXPECT_TRUE(preview.big);
  EXPECT_EQ(preview.suggested_ignore, "/frames/");
  EXPECT_EQ(preview.files, 10002u);
}

TEST_F(Push, RunSnapshotIsUnchangedByALaterPush) {
  put("model.py", "v1");
  put("old.py", "o");
  put("data/x.csv", "x");
  auto s = spec();
  s.rodata = {"data"};
  auto pushed = push(m_local, nullptr, &s);
  SnapshotRequest req;
  req.remote_root = m_root.string();
  req.project = "proj";
  req.run_id = "train-1";
  req.job = "train";
  req.rodata = {"data"};
  CountingRemote counted(m_local);
  auto snap = snapshot(counted, req);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(snap.code_digest, pushed.tree.digest);
  fs::path code = target() / "runs" / "train-1";
  EXPECT_EQ(snap.run_dir, m_root.string() + "/projects/proj/runs/train-1");
  EXPECT_EQ(snap.output_dir, snap.run_dir + "/output");
  EXPECT_EQ(read_file(code / "model.py"), "v1");
  // The output dir is the run's own; rodata is linked, not copied.
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(code / "output")));
  EXPECT_EQ(fs::read_symlink(code / "data"), "../../rodata/data/tree");
  EXPECT_EQ(read_file(code / "data" / "x.csv"), "x");
  std::string status = read_file(code / "status");
  EXPECT_NE(status.find("job=train\n"), std::string::npos) << status;
  EXPECT_NE(status.find("code_digest=" + pushed.tree.digest + "\n"), std::string::npos);

  put("model.py", "v2");
  fs::remove(m_project / "old.py");
  push(m_local, nullptr, &s);
  EXPECT_EQ(read_file(code / "model.py"), "v1");
  EXPECT_EQ(read_file(code / "old.py"), "o");
  EXPECT_EQ(read_file(remote_tree() / "model.py"), "v2");
  // A second snapshot of the same run id is refused.
  EXPECT_THROW(snapshot(m_local, req), tccp::Error);
}

TEST_F(Push, SnapshotBeforeAnyPushFailsClearly) {
  SnapshotRequest req;
  req.remote_root = m_root.string();
  req.project = "proj";
  req.run_id = "r1";
  req.job = "main";
  try {
    snapshot(m_local, req);
    FAIL();
  } catch (const tccp::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot snapshot the code of run 'r1': nothing was pushed to project 'proj' yet");
  }
}

namespace {
// Runs every command with a fault injected into the helper.
class FaultRemote : public tccp::remote::LocalRemote {
public:
  explicit FaultRemote(std::string fault) : m_fault(std::move(fault)) {}
  tccp::remote::ExecResult stream(const std::string& command,
                                  const tccp::remote::Producer& producer,
                                  const tccp::remote::Sink& out, const tccp::remote::Sink& err,
                                  const tccp::remote::ExecOptions& options = {}) override {
    return LocalRemote::stream("TCCP_SYNC_FAULT=" + m_fault + "; export TCCP_SYNC_FAULT; " +
                                   command,
                               producer, out, err, options);
  }

private:
  std::string m_fault;
};
} // namespace

TEST_F(Push, ACommitCutHalfwayIsFinishedByTheNextReader) {
  put("a.py", "a1");
  put("b.py", "b");
  push();
  put("a.py", "a2");
  fs::remove(m_project / "b.py");
  put("c/new.py", "c");
  FaultRemote dying("commit");
  EXPECT_THROW(push(dying), tccp::Error);
  // The helper died with the old files out and the new ones not yet in.
  EXPECT_TRUE(fs::exists(target() / "commit"));
  EXPECT_FALSE(fs::exists(remote_tree() / "a.py"));
  // A snapshot finishes the commit first, and copies the new tree.
  SnapshotRequest req;
  req.remote_root = m_root.string();
  req.project = "proj";
  req.run_id = "r1";
  req.job = "main";
  snapshot(m_local, req);
  fs::path run = target() / "runs" / "r1";
  EXPECT_EQ(read_file(run / "a.py"), "a2");
  EXPECT_FALSE(fs::exists(run / "b.py"));
  EXPECT_EQ(read_file(run / "c" / "new.py"), "c");
  EXPECT_FALSE(fs::exists(target() / "commit"));
  // The client did not hear the answer: it learns the tree is already there.
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.tree.files_sent, 0u);
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(Push, ACommitCutHalfwayIsFinishedByTheNextPush) {
  put("a.py", "a1");
  push();
  put("a.py", "a2");
  FaultRemote dying("commit");
  EXPECT_THROW(push(dying), tccp::Error);
  put("d.py", "d");
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 2); // the mismatch answer, then d.py
  EXPECT_EQ(r.tree.files_sent, 1u);
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}
