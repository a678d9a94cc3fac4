// Ignore rules: parsing, and conformance with git itself as the oracle on
// generated trees.
#include <random>

#include <gtest/gtest.h>

#include "sync_test_support.hpp"
#include "tccp/core/error.hpp"
#include "tccp/sync/ignore.hpp"
#include "tccp/sync/manifest.hpp"
#include "tccp/sync/scan.hpp"
#include "tccp/util/fs.hpp"

using namespace tccp::sync;
using namespace tccp::sync::testing;

TEST(IgnoreParse, CommentsBlankLinesAndEscapes) {
  auto list = IgnoreList::parse("# comment\n\n\\#hash\n\\!bang\n!keep\nlogs/\n/build\n");
  const auto& p = list.patterns();
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].pattern, "\\#hash");
  EXPECT_FALSE(p[0].negated);
  EXPECT_EQ(p[1].pattern, "\\!bang");
  EXPECT_FALSE(p[1].negated);
  EXPECT_EQ(p[2].pattern, "keep");
  EXPECT_TRUE(p[2].negated);
  EXPECT_EQ(p[3].pattern, "logs");
  EXPECT_TRUE(p[3].dir_only);
  EXPECT_TRUE(p[3].basename);
  EXPECT_EQ(p[4].pattern, "/build");
  EXPECT_FALSE(p[4].basename);
}

TEST(IgnoreParse, TrailingSpacesDroppedUnlessEscaped) {
  auto list = IgnoreList::parse("a  \nb\\ \nc\\  \n");
  const auto& p = list.patterns();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].pattern, "a");
  EXPECT_EQ(p[1].pattern, "b\\ ");
  EXPECT_EQ(p[2].pattern, "c\\ ");
}

TEST(IgnoreParse, CrLfAndBomAndNoFinalNewline) {
  auto list = IgnoreList::parse("\xEF\xBB\xBF*.pyc\r\nbuild");
  ASSERT_EQ(list.patterns().size(), 2u);
  EXPECT_EQ(list.patterns()[0].pattern, "*.pyc");
  EXPECT_EQ(list.patterns()[1].pattern, "build");
}

TEST(IgnoreDecide, LastMatchingPatternWins) {
  auto list = IgnoreList::parse("*.txt\n!keep.txt\n");
  EXPECT_EQ(list.decide("a.txt", false), std::optional<bool>(true));
  EXPECT_EQ(list.decide("keep.txt", false), std::optional<bool>(false));
  EXPECT_EQ(list.decide("a.py", false), std::nullopt);
}

TEST(IgnoreDecide, AnchoredPatternsMatchUnderTheirDirectoryOnly) {
  auto list = IgnoreList::parse("/build\nsub/x\n", "proj/");
  EXPECT_EQ(list.decide("proj/build", true), std::optional<bool>(true));
  EXPECT_EQ(list.decide("proj/a/build", true), std::nullopt);
  EXPECT_EQ(list.decide("proj/sub/x", false), std::optional<bool>(true));
  EXPECT_EQ(list.decide("other/sub/x", false), std::nullopt);
}

TEST(IgnoreDecide, DirectoryOnlyPatternIgnoresFiles) {
  auto list = IgnoreList::parse("logs/\n");
  EXPECT_EQ(list.decide("a/logs", true), std::optional<bool>(true));
  EXPECT_EQ(list.decide("a/logs", false), std::nullopt);
}

namespace {

// Deterministic generator of trees with nested ignore files and tricky
// patterns. Uses only the raw mt19937 output (portable across libraries).
class TreeGen {
public:
  explicit TreeGen(unsigned seed) : m_rng(seed) {}

  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(m_rng() % n); }
  bool chance(unsigned percent) { return m_rng() % 100 < percent; }

  std::string name() {
    static const std::vector<std::string> names = {"a",
                                                   "b",
                                                   "c",
                                                   "ab",
                                                   "abc",
                                                   "a b",
                                                   "x.py",
                                                   "y.pyc",
                                                   "z.txt",
                                                   "keep.txt",
                                                   "build",
                                                   "logs",
                                                   "data",
                                                   "#hash",
                                                   "!bang",
                                                   "sp ",
                                                   "dir.d",
                                                   "\xc3\x9c"
                                                   "n"
                                                   "\xc3\xaf"
                                                   "c"
                                                   "\xc3\xb8"
                                                   "de",
                                                   "q?",
                                                   "[ab]",
                                                   "st*r",
                                                   "node_modules",
                                                   "__pycache__",
                                                   ".venv",
                                                   "Build",
                                                   "log.1",
                                                   "deep",
                                                   "foo",
                                                   "bar",
                                                   "foo.bak",
                                                   "x y z.py",
                                                   "semi;colon",
                                                   "$dollar",
                                                   "it's",
                                                   "new\nline",
                                                   "tab\tname",
                                                   "back\\slash",
                                                   "\xff\xfe",
                                                   "-dash",
                                                   "out",
                                                   ".hidden"};
    return names[pick(names.size())];
  }

  std::string pattern() {
    static const std::vector<std::string> patterns = {"*.pyc",
                                                      "*.py[co]",
                                                      "/build",
                                                      "build/",
                                                      "**/logs",
                                                      "logs/**",
                                                      "a/**/b",
                                                      "!keep.txt",
                                                      "\\#hash",
                                                      "\\!bang",
                                                      "sp\\ ",
                                                      "sp ",
                                                      "[a-c]",
                                                      "[!a]*",
                                                      "?",
                                                      "d*/",
                                                      "!*/",
                                                      "dir.d/*",
                                                      "*",
                                                      "!a",
                                                      "ab**/c",
                                                      "a*/**/x.py",
                                                      "[[:alpha:]]",
                                                      "!/build",
                                                      "*.txt",
                                                      "!z.txt",
                                                      "data/",
                                                      "/data/*",
                                                      "!data/keep.txt",
                                                      "deep/**/foo",
                                                      "**/deep",
                                                      "foo*",
                                                      "!foo.bak",
                                                      "*.bak",
                                                      "x\\ y\\ z.py",
                                                      "log.?",
                                                      "[Bb]uild",
                                                      "st\\*r",
                                                      "q\\?",
                                                      "\\[ab\\]",
                                                      "a/b",
                                                      "/a/b/",
                                                      "**/a/**",
                                                      "bar/",
                                                      "!bar/",
                                                      "out",
                                                      "*/",
                                                      "\\-dash",
                                                      ".hidden",
                                                      "!.hidden",
                                                      "#comment",
                                                      "",
                                                      "   ",
                                                      "a b",
                                                      "[[:digit:]]*",
                                                      "[[:bogus:]]",
                                                      "back\\\\slash",
                                                      "*b*",
                                                      "**/*.py",
                                                      "!**/keep.txt",
                                                      "c/",
                                                      "!c/"};
    return patterns[pick(patterns.size())];
  }

  std::string ignore_text() {
    std::string text;
    std::size_t n = 1 + pick(6);
    for (std::size_t i = 0; i < n; ++i) {
      text += pattern();
      text += chance(10) ? "\r\n" : "\n";
    }
    if (chance(20)) {
      text.pop_back(); // no final newline
    }
    return text;
  }

  // Fills `dir` (relative `rel`) with up to `budget` paths.
  void fill(const fs::path& root, const std::string& rel, int depth, int& budget,
            std::vector<std::pair<std::string, std::string>>& tccpignores) {
    fs::path dir = rel.empty() ? root : root / rel;
    fs::create_directories(dir);
    bool tccpignore = chance(25);
    if (chance(40)) {
      write_file(dir / ".gitignore", ignore_text());
    } else if (tccpignore) {
      write_file(dir / ".gitignore", ""); // merged into below, for git
    }
    if (tccpignore) {
      std::string text = ignore_text();
      write_file(dir / ".tccpignore", text);
      tccpignores.emplace_back(rel, text);
    }
    std::size_t n = 2 + pick(8);
    for (std::size_t i = 0; i < n && budget > 0; ++i) {
      std::string nm = name();
      std::string child = rel.empty() ? nm : rel + "/" + nm;
      if (fs::exists(fs::symlink_status(root / child))) {
        continue;
      }
      --budget;
      if (depth < 4 && chance(35)) {
        fill(root, child, depth + 1, budget, tccpignores);
      } else if (chance(5)) {
        fs::create_symlink("x.py", root / child);
      } else {
        write_file(root / child, "content of " + child, chance(10) ? 0755 : 0644);
      }
    }
  }

private:
  std::mt19937 m_rng;
};

bool under_builtin(const std::string& path) {
  auto parts = tccp::util::split(path, '/');
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (is_builtin_excluded(parts[i], true)) {
      return true;
    }
  }
  return false;
}

std::set<std::string> tccp_files(const fs::path& root) {
  ScanOptions o;
  o.root = root;
  std::set<std::string> out;
  for (const auto& e : scan_tree(o)) {
    if (e.is_content()) {
      out.insert(e.path);
    }
  }
  return out;
}

// .tccpignore adds rules as if appended to the same directory's .gitignore:
// rewrite the tree that way for git to judge it.
void merge_tccpignores_for_git(const fs::path& root,
                               const std::vector<std::pair<std::string, std::string>>& extra) {
  for (const auto& [rel, text] : extra) {
    fs::path gi = (rel.empty() ? root : root / rel) / ".gitignore";
    std::string merged = read_file(gi);
    if (!merged.empty() && merged.back() != '\n') {
      merged += '\n';
    }
    write_file(gi, merged + text);
  }
}

void expect_same(const std::set<std::string>& ours, const std::set<std::string>& git,
                 unsigned seed) {
  std::vector<std::string> only_ours;
  std::vector<std::string> only_git;
  std::set_difference(ours.begin(), ours.end(), git.begin(), git.end(),
                      std::back_inserter(only_ours));
  std::set_difference(git.begin(), git.end(), ours.begin(), ours.end(),
                      std::back_inserter(only_git));
  auto show = [](const std::vector<std::string>& paths) {
    std::string out;
    for (const auto& p : paths) {
      out += "\n    " + escape_path(p);
    }
    return out;
  };
  EXPECT_TRUE(only_ours.empty() && only_git.empty())
      << "seed " << seed << ": tccp only:" << show(only_ours) << "\n  git only:" << show(only_git);
}

} // namespace

// 40 trees by default; TCCP_ORACLE_SEEDS=N checks N of them.
int oracle_seeds() {
  const char* n = std::getenv("TCCP_ORACLE_SEEDS");
  return n != nullptr ? std::max(1, std::atoi(n)) : 40;
}

class GitOracle : public ::testing::TestWithParam<unsigned> {};

TEST_P(GitOracle, ChosenPathsEqualGitLsFilesMinusBuiltins) {
  unsigned seed = GetParam();
  tccp::util::TempDir tmp("tccp-oracle");
  fs::path root = tmp.path() / "repo";
  git_init(root);
  TreeGen gen(seed);
  int budget = 300;
  std::vector<std::pair<std::string, std::string>> extra;
  gen.fill(root, "", 0, budget, extra);
  write_file(root / ".git" / "info" / "exclude", gen.ignore_text());

  std::set<std::string> ours = tccp_files(root);
  merge_tccpignores_for_git(root, extra);
  std::set<std::string> git;
  for (const auto& p : git_ls_files(root)) {
    if (!under_builtin(p)) {
      git.insert(p);
    }
  }
  expect_same(ours, git, seed);
  if (const char* keep = std::getenv("TCCP_ORACLE_KEEP")) {
    sh("rm -rf " + tccp::util::shell_quote(keep) + " && cp -a " +
       tccp::util::shell_quote(root.string()) + " " + tccp::util::shell_quote(keep));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, GitOracle,
                         ::testing::Range(1u, 1u + static_cast<unsigned>(oracle_seeds())));

TEST(GitOracleNoRepo, SameChoiceOutsideAGitRepository) {
  for (unsigned seed = 100; seed < 110; ++seed) {
    tccp::util::TempDir tmp("tccp-oracle");
    fs::path plain = tmp.path() / "plain";
    TreeGen gen(seed);
    int budget = 250;
    std::vector<std::pair<std::string, std::string>> extra;
    gen.fill(plain, "", 0, budget, extra);
    std::set<std::string> ours = tccp_files(plain);
    // The same tree inside a fresh repository, judged by git.
    fs::path repo = tmp.path() / "repo";
    sh("cp -a " + tccp::util::shell_quote(plain.string()) + " " +
       tccp::util::shell_quote(repo.string()));
    git_init(repo);
    merge_tccpignores_for_git(repo, extra);
    std::set<std::string> git;
    for (const auto& p : git_ls_files(repo)) {
      if (!under_builtin(p)) {
        git.insert(p);
      }
    }
    expect_same(ours, git, seed);
  }
}

TEST(GitOracleSubdir, ProjectInsideARepositoryHonoursTheParentsRules) {
  tccp::util::TempDir tmp("tccp-oracle");
  fs::path repo = tmp.path() / "mono";
  git_init(repo);
  write_file(repo / ".gitignore", "*.log\n/top-only\nproj/secret.txt\n");
  write_file(repo / ".git" / "info" / "exclude", "*.tmp\n");
  write_file(repo / "proj" / "a.py", "a");
  write_file(repo / "proj" / "run.log", "l");
  write_file(repo / "proj" / "x.tmp", "t");
  write_file(repo / "proj" / "secret.txt", "s");
  write_file(repo / "proj" / "top-only", "k");
  std::set<std::string> ours = tccp_files(repo / "proj");
  EXPECT_EQ(ours, (std::set<std::string>{"a.py", "top-only"}));
}

TEST(ScanBuiltins, GitAndToolDirectoriesNeverSynced) {
  tccp::util::TempDir tmp("tccp-scan");
  fs::path root = tmp.path();
  write_file(root / "a.py", "a");
  write_file(root / ".git" / "config", "c");
  write_file(root / "pkg" / "__pycache__" / "m.pyc", "p");
  write_file(root / ".venv" / "bin" / "python", "v");
  write_file(root / "web" / "node_modules" / "x.js", "n");
  write_file(root / ".gitignore", "!__pycache__/\n!node_modules/\n");
  EXPECT_EQ(tccp_files(root), (std::set<std::string>{".gitignore", "a.py"}));
}

TEST(ScanExcluded, OutputDirIsLeftOutWhateverTheRules) {
  tccp::util::TempDir tmp("tccp-scan");
  write_file(tmp.path() / "output" / "model.pt", "m");
  write_file(tmp.path() / "a.py", "a");
  write_file(tmp.path() / ".tccpignore", "!output/\n");
  ScanOptions o;
  o.root = tmp.path();
  o.excluded = {"output"};
  std::set<std::string> got;
  for (const auto& e : scan_tree(o)) {
    got.insert(e.path);
  }
  EXPECT_EQ(got, (std::set<std::string>{".tccpignore", "a.py"}));
}

TEST(ScanEnvFile, SyncedAsSecretEvenWhenIgnored) {
  tccp::util::TempDir tmp("tccp-scan");
  write_file(tmp.path() / ".env", "API_KEY=hunter2\n");
  write_file(tmp.path() / "conf" / "local.env", "X=1\n");
  write_file(tmp.path() / ".gitignore", ".env\nconf/\n");
  ScanOptions o;
  o.root = tmp.path();
  o.env_file = ".env";
  auto entries = scan_tree(o);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, ".env");
  EXPECT_EQ(entries[0].kind, EntryKind::secret);
  // An env file inside an ignored directory brings its directory along.
  o.env_file = "conf/local.env";
  entries = scan_tree(o);
  std::set<std::string> got;
  for (const auto& e : entries) {
    got.insert(e.path + ":" + static_cast<char>(e.kind));
  }
  EXPECT_EQ(got, (std::set<std::string>{".gitignore:f", "conf:d", "conf/local.env:s"}));
}

TEST(ScanSymlinks, InsideKeptOutsideRefused) {
  tccp::util::TempDir tmp("tccp-scan");
  fs::path root = tmp.path() / "p";
  write_file(root / "lib" / "util.py", "u");
  fs::create_symlink("lib/util.py", root / "alias.py");
  fs::create_symlink(root / "lib", root / "abs-lib");
  ScanOptions o;
  o.root = root;
  auto entries = scan_tree(o);
  std::map<std::string, std::string> links;
  for (const auto& e : entries) {
    if (e.kind == EntryKind::symlink) {
      links[e.path] = e.link_target;
    }
  }
  EXPECT_EQ(links["alias.py"], "lib/util.py");
  EXPECT_EQ(links["abs-lib"], "lib"); // absolute into the project: made relative

  fs::create_symlink("../../etc/passwd", root / "lib" / "escape");
  try {
    scan_tree(o);
    FAIL() << "a symlink leaving the project must be refused";
  } catch (const tccp::Error& e) {
    EXPECT_EQ(e.code(), tccp::ExitCode::failed);
    EXPECT_NE(std::string(e.what()).find("'lib/escape' points outside the project"),
              std::string::npos)
        << e.what();
    EXPECT_NE(e.hint().find(".tccpignore"), std::string::npos);
  }
}

TEST(IgnoreDecide, LiteralHeadIsComparedBeforeGlobbingAsGitDoes) {
  // git 2.39: "ab**/c" under a/ matches a/abc (the "**/" left after the
  // literal "ab" may stand for no directory).
  auto list = IgnoreList::parse("ab**/c\n", "a/");
  EXPECT_EQ(list.decide("a/abc", false), std::optional<bool>(true));
  EXPECT_EQ(list.decide("a/abx/y/c", false), std::optional<bool>(true));
  EXPECT_EQ(list.decide("a/ac", false), std::nullopt);
}
