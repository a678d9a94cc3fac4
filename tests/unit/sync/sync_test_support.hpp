#pragma once
// Helpers shared by the sync unit tests: files, git as an oracle, a
// LocalRemote rooted in a temp dir.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync::testing {

namespace fs = std::filesystem;

// A write to a helper that exited must not kill the test binary.
inline const bool sigpipe_ignored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

inline void write_file(const fs::path& path, const std::string& content, unsigned mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  fs::permissions(path, static_cast<fs::perms>(mode));
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command line; fails the test when it exits non-zero.
inline std::string sh(const std::string& command) {
  auto r = util::run_process({"/bin/sh", "-c", command});
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.err;
  return r.out;
}

// git's own choice: `git ls-files --cached --others --exclude-standard`,
// isolated from the user's and the system's git configuration.
inline std::set<std::string> git_ls_files(const fs::path& repo) {
  util::ProcessOptions o;
  o.env_set = {{"HOME", repo.string()},
               {"XDG_CONFIG_HOME", repo.string()},
               {"GIT_CONFIG_NOSYSTEM", "1"},
               {"GIT_CONFIG_GLOBAL", "/dev/null"}};
  auto r = util::run_process(
      {"git", "-C", repo.string(), "ls-files", "-z", "--cached", "--others", "--exclude-standard"},
      o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  for (const auto& p : util::split(r.out, '\0')) {
    if (!p.empty()) {
      out.insert(p);
    }
  }
  return out;
}

inline void git_init(const fs::path& dir) {
  util::ProcessOptions o;
  o.env_set = {
      {"HOME", dir.string()}, {"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_CONFIG_GLOBAL", "/dev/null"}};
  auto r = util::run_process({"git", "init", "-q", dir.string()}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// sha256sum of a file (coreutils), for end-to-end content checks.
inline std::string sha256sum(const fs::path& path) {
  auto out = sh("sha256sum < " + util::shell_quote(path.string()));
  return out.substr(0, 64);
}

} // namespace tccp::sync::testing
