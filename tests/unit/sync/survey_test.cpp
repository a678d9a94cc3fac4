// The walk in manifest order, and the index and state files a push reads
// beside it and rewrites only where they change.
#include <algorithm>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "push_fixture.hpp"
#include "tccp/sync/manifest.hpp"
#include "tccp/sync/scan.hpp"

using namespace tccp::sync;
using namespace tccp::sync::testing;

namespace {

// Identifies a file's version: an atomic rewrite makes a new inode.
std::pair<ino_t, std::int64_t> version_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return {st.st_ino,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::vector<std::string> lines_of(const std::string& text) {
  auto lines = tccp::util::split(text, '\n');
  if (!lines.empty() && lines.back().empty()) {
    lines.pop_back();
  }
  return lines;
}

} // namespace

TEST(ScanOrder, VisitsPathsInTheOrderOfTheirEscapedForms) {
  tccp::util::TempDir tmp("tccp-scan");
  // Names whose raw and escaped orders differ, and a directory whose
  // contents sort after a sibling that extends its name.
  for (const std::string name : {"a", "a.b", "a!", "a0", "b\x01", "b!", "b\\c", "b~", "b\x7f", "B",
                                 "d/e", "d/e.f/g", "d!/h", "d.x"}) {
    write_file(tmp.path() / name, "x");
  }
  fs::remove(tmp.path() / "a");
  write_file(tmp.path() / "a" / "x", "x");
  ScanOptions o;
  o.root = tmp.path();
  std::vector<std::string> visited;
  scan_tree(o, [&](Entry&& e) { visited.push_back(e.path); });
  std::vector<std::string> escaped;
  for (const auto& p : visited) {
    escaped.push_back(escape_path(p));
  }
  std::vector<std::string> sorted = escaped;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(escaped, sorted);
  EXPECT_EQ(visited.size(), 18u); // 14 files (a/x for a) and the directories a, d, d/e.f, d!
  EXPECT_TRUE(std::is_sorted(visited.begin(), visited.end(), manifest_less));
}

class PushState : public PushFixture {
protected:
  fs::path index_file() const { return m_state / "index"; }
  fs::path state_file() const { return m_state / "test-tree.state"; }
};

TEST_F(PushState, AnUnchangedPushRewritesNeitherTheIndexNorTheState) {
  put("a.py", "a");
  put("lib/b.py", "b");
  push();
  auto index_before = version_of(index_file());
  auto state_before = version_of(state_file());
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.files_hashed, 0u);
  EXPECT_EQ(version_of(index_file()), index_before);
  EXPECT_EQ(version_of(state_file()), state_before);
  // No temp file left behind either.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(m_state)) {
    ++files;
  }
  EXPECT_EQ(files, 2u);
}

TEST_F(PushState, TheIndexAndStateFollowChangesAndDeletionsAtEitherEnd) {
  put("a.py", "a");
  put("m.py", "m");
  put("z.py", "z");
  push();
  auto first = lines_of(read_file(index_file()));
  ASSERT_EQ(first.size(), 4u);
  fs::remove(m_project / "z.py"); // the index's last record goes
  auto r = push();
  EXPECT_EQ(r.tree.deleted, 1u);
  EXPECT_EQ(r.files_hashed, 0u);
  auto index = lines_of(read_file(index_file()));
  ASSERT_EQ(index.size(), 3u); // the header, a.py, m.py
  EXPECT_EQ(index[0].rfind("tccp-index 2 ", 0), 0u);
  EXPECT_EQ(index[1], first[1]);
  EXPECT_EQ(index[2], first[2]);
  put("m.py", "changed"); // one in the middle
  r = push();
  EXPECT_EQ(r.files_hashed, 1u);
  index = lines_of(read_file(index_file()));
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index[1], first[1]);
  EXPECT_EQ(index[2].rfind("m.py\t7\t", 0), 0u) << index[2];
  fs::remove(m_project / "a.py"); // and now its first
  r = push();
  EXPECT_EQ(r.tree.deleted, 1u);
  EXPECT_EQ(r.files_hashed, 0u);
  EXPECT_EQ(lines_of(read_file(index_file())).size(), 2u);
  auto state = lines_of(read_file(state_file()));
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state[1], "digest " + remote_digest());
  EXPECT_EQ(state[3], "m.py\tf\t" + sha256_hex("changed"));
  EXPECT_EQ(push().files_hashed, 0u);
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(PushState, NamesThatEscapeOutOfOrderStayUnchangedOnTheNextPush) {
  for (const std::string name : {"a\x01", "a!", "a\\", "a~", "a\x7f", "a/b", "a.c"}) {
    put(name, "content of " + name);
  }
  push();
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
  auto index_before = version_of(index_file());
  CountingRemote counted(m_local);
  auto r = push(counted);
  EXPECT_EQ(counted.round_trips(), 1);
  EXPECT_EQ(r.files_hashed, 0u);
  EXPECT_EQ(r.tree.files_sent, 0u);
  EXPECT_EQ(version_of(index_file()), index_before);
}

TEST_F(PushState, ADamagedIndexIsSetAsideAndItsFilesHashedAgain) {
  put("a.py", "a");
  put("b.py", "b");
  put("c.py", "c");
  push();
  auto lines = lines_of(read_file(index_file()));
  ASSERT_EQ(lines.size(), 4u);
  write_file(index_file(), lines[0] + "\n" + lines[1] + "\nb.py\tgarbage\n" + lines[3] + "\n");
  RecordingObserver obs;
  auto r = push(m_local, &obs);
  EXPECT_EQ(r.files_hashed, 2u); // b.py and c.py, after the damage
  EXPECT_TRUE(fs::exists(index_file().string() + ".corrupt"));
  ASSERT_EQ(obs.notes.size(), 1u);
  EXPECT_NE(obs.notes[0].find("index"), std::string::npos) << obs.notes[0];
  EXPECT_EQ(push().files_hashed, 0u);
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
}

TEST_F(PushState, AnIndexOfAnOlderFormatIsReadAsAbsent) {
  put("a.py", "a");
  put("b.py", "b");
  push();
  write_file(index_file(), "tccp-index 1 123\na.py\t1\t2\t3\t4\t" + std::string(64, '0') + "\n");
  RecordingObserver obs;
  auto r = push(m_local, &obs);
  EXPECT_EQ(r.files_hashed, 2u);
  EXPECT_TRUE(obs.notes.empty());
  EXPECT_FALSE(fs::exists(index_file().string() + ".corrupt"));
  EXPECT_EQ(read_file(index_file()).rfind("tccp-index 2 ", 0), 0u);
  EXPECT_EQ(push().files_hashed, 0u);
}

TEST_F(PushState, ARememberedManifestThatDoesNotAddUpIsSetAsideAndTheClusterAsked) {
  put("a.py", "a");
  put("b.py", "b");
  push();
  // The head is intact; a line of the manifest is not what was pushed.
  std::string text = read_file(state_file());
  std::size_t at = text.find("b.py\tf\t");
  ASSERT_NE(at, std::string::npos);
  text[at + 7] = text[at + 7] == '0' ? '1' : '0';
  write_file(state_file(), text);
  put("c.py", "c");
  RecordingObserver obs;
  CountingRemote counted(m_local);
  auto r = push(counted, &obs);
  EXPECT_EQ(counted.round_trips(), 2); // the cluster's manifest, then the delta
  EXPECT_EQ(r.tree.files_sent, 1u);
  EXPECT_TRUE(fs::exists(state_file().string() + ".corrupt"));
  ASSERT_FALSE(obs.notes.empty());
  EXPECT_NE(obs.notes[0].find("remembered state"), std::string::npos) << obs.notes[0];
  EXPECT_EQ(snapshot_of(remote_tree()), snapshot_of(m_project));
  CountingRemote again(m_local);
  EXPECT_EQ(push(again).tree.files_sent, 0u);
  EXPECT_EQ(again.round_trips(), 1);
}

TEST_F(PushState, ATruncatedStateFileIsSetAsideAndTheClusterAsked) {
  put("a.py", "a");
  put("b.py", "b");
  push();
  std::string text = read_file(state_file());
  write_file(state_file(), text.substr(0, text.size() - 10));
  RecordingObserver obs;
  auto r = push(m_local, &obs);
  EXPECT_EQ(r.tree.files_sent, 0u); // the cluster's answer shows it holds the tree
  EXPECT_TRUE(fs::exists(state_file().string() + ".corrupt"));
  ASSERT_FALSE(obs.notes.empty());
  EXPECT_EQ(read_file(state_file()), text);
}

TEST_F(PushState, AnEnvFileUnderAnIgnoredDirectoryComesAloneWithItsDirectories) {
  put(".gitignore", "conf/\n");
  put("conf/sub/.env", "K=V\n");
  put("conf/sub/other.txt", "o");
  put("conf/z.txt", "z");
  put("main.py", "m");
  auto s = spec();
  s.env_file = "conf/sub/.env";
  push(m_local, nullptr, &s);
  auto remote = snapshot_of(remote_tree());
  EXPECT_EQ(remote, (std::map<std::string, std::string>{{".gitignore", "f:conf/\n"},
                                                        {"conf", "d"},
                                                        {"conf/sub", "d"},
                                                        {"conf/sub/.env", "f:K=V\n"},
                                                        {"main.py", "f:m"}}));
  CountingRemote counted(m_local);
  auto r = push(counted, nullptr, &s);
  EXPECT_EQ(r.tree.files_sent, 0u);
  EXPECT_EQ(r.files_hashed, 0u);
}
