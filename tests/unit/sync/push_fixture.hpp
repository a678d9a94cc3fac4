#pragma once
// A project and a "remote root" in a temp dir, pushed through LocalRemote:
// the real helper runs under /bin/sh (dash), as it would on the cluster.
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "sync_test_support.hpp"
#include "tccp/remote/helper.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/sync/counting_remote.hpp"
#include "tccp/sync/push.hpp"
#include "tccp/util/fs.hpp"

namespace tccp::sync::testing {

// Remembers what a push showed people.
struct RecordingObserver : PushObserver {
  int previews = 0;
  Preview last_preview;
  std::vector<std::string> notes;
  std::uint64_t last_done = 0;
  void preview(const Preview& p) override {
    ++previews;
    last_preview = p;
  }
  void progress(std::uint64_t done, std::uint64_t /*total*/) override { last_done = done; }
  void note(const std::string& m) override { notes.push_back(m); }
};

// Cuts the command's stdin after `limit` bytes, as a connection dropped at
// that byte would.
class TruncatingRemote : public remote::LocalRemote {
public:
  explicit TruncatingRemote(std::uint64_t limit) : m_limit(limit) {}
  remote::ExecResult stream(const std::string& command, const remote::Producer& producer,
                            const remote::Sink& out, const remote::Sink& err,
                            const remote::ExecOptions& options = {}) override {
    std::string cut = "head -c " + std::to_string(m_limit) + " | { " + command + "; }";
    return LocalRemote::stream(cut, producer, out, err, options);
  }

private:
  std::uint64_t m_limit;
};

// Kills the remote side (the helper and its children, by pid) once `after`
// bytes went in: the end of a connection in the middle of a stream.
class KillingRemote : public remote::LocalRemote {
public:
  KillingRemote(std::uint64_t after, std::filesystem::path pid_file)
      : m_after(after), m_pid_file(std::move(pid_file)) {}
  remote::ExecResult stream(const std::string& command, const remote::Producer& producer,
                            const remote::Sink& out, const remote::Sink& err,
                            const remote::ExecOptions& options = {}) override {
    std::string wrapped = "echo $$ > " + util::shell_quote(m_pid_file.string()) + "; exec sh -c " +
                          util::shell_quote(command);
    std::uint64_t sent = 0;
    bool killed = false;
    remote::Producer p = [&](const remote::StdinWriter& write) {
      producer([&](std::string_view d) {
        sent += d.size();
        if (!killed && sent >= m_after) {
          kill_remote();
          killed = true;
        }
        write(d);
      });
    };
    return LocalRemote::stream(wrapped, p, out, err, options);
  }
  bool fired() const { return m_fired; }

private:
  // Stops the process and its descendants first (so none forks on), then
  // kills them all: the remote side vanishes at once, as with a dropped link.
  static void collect(pid_t pid, std::vector<pid_t>& out) {
    ::kill(pid, SIGSTOP);
    out.push_back(pid);
    std::string kids =
        read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    for (const auto& k : util::split(util::trim(kids), ' ')) {
      if (!k.empty()) {
        collect(std::stoi(k), out);
      }
    }
  }
  void kill_remote() {
    std::vector<pid_t> pids;
    collect(std::stoi(read_file(m_pid_file)), pids);
    for (pid_t p : pids) {
      ::kill(p, SIGKILL);
    }
    m_fired = true;
  }
  std::uint64_t m_after;
  std::filesystem::path m_pid_file;
  bool m_fired = false;
};

class PushFixture : public ::testing::Test {
protected:
  util::TempDir m_tmp{"tccp-sync"};
  fs::path m_project = m_tmp.path() / "proj";
  fs::path m_root = m_tmp.path() / "remote root";
  fs::path m_state = m_tmp.path() / "state";
  remote::LocalRemote m_local;

  // The helper is installed once per cluster and version (two more round
  // trips, the first time only); pushes are measured against a cluster
  // that has it.
  void SetUp() override {
    fs::create_directories(m_project);
    remote::install_helper(m_local, m_root.string());
  }

  PushSpec spec() const {
    PushSpec s;
    s.project = "proj";
    s.project_dir = m_project;
    s.remote_root = m_root.string();
    s.state_dir = m_state;
    s.cluster_key = "test";
    return s;
  }

  // Writes a project file with an mtime in the past (files changed within
  // the clock granularity of a hash are re-hashed, as in git; tests that
  // count hashing use settled files).
  void put(const std::string& rel, const std::string& content, unsigned mode = 0644) {
    write_file(m_project / rel, content, mode);
    settle(m_project / rel);
  }

  static void settle(const fs::path& p) {
    timespec times[2];
    times[0].tv_sec = ::time(nullptr) - 3600;
    times[0].tv_nsec = 0;
    times[1] = times[0];
    ::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  PushResult push(remote::Remote& via, PushObserver* observer = nullptr,
                  const PushSpec* custom = nullptr) {
    return sync::push(via, custom != nullptr ? *custom : spec(), observer);
  }
  PushResult push() { return push(m_local); }

  fs::path target() const { return m_root / "projects" / "proj"; }
  fs::path remote_tree() const { return target() / "tree"; }

  std::string remote_digest() const { return util::trim(read_file(target() / "digest")); }

  // path -> "f:<content>" / "x:<content>" / "l:<target>" / "d" for a tree.
  static std::map<std::string, std::string> snapshot_of(const fs::path& dir) {
    std::map<std::string, std::string> out;
    if (!fs::exists(dir)) {
      return out;
    }
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
      std::string rel = it->path().lexically_relative(dir).generic_string();
      auto st = it->symlink_status();
      if (fs::is_symlink(st)) {
        out[rel] = "l:" + fs::read_symlink(it->path()).string();
      } else if (fs::is_directory(st)) {
        out[rel] = "d";
      } else {
        bool x = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
        out[rel] = std::string(x ? "x:" : "f:") + read_file(it->path());
      }
    }
    return out;
  }
};

} // namespace tccp::sync::testing
