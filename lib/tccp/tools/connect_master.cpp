#include "tccp/tools/connect_master.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tccp/core/error.hpp"
#include "tccp/remote/mux_remote.hpp"
#include "tccp/ssh/mux_protocol.hpp"
#include "tccp/ssh/mux_server.hpp"
#include "tccp/term/printer.hpp"
#include "tccp/tools/connection.hpp"
#include "tccp/util/fs.hpp"

namespace tccp::tools {

namespace {

using Clock = std::chrono::steady_clock;

ssh::MuxServer* g_server = nullptr;

void on_stop_signal(int /*sig*/) {
  if (g_server != nullptr) {
    g_server->stop();
  }
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void log_line(const std::string& line) {
  std::cerr << now_text() << " tccp-connect: " << line << std::endl;
}

int bind_socket(const std::filesystem::path& path) {
  sockaddr_un addr{};
  std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) {
    throw Error(ExitCode::config, "socket path too long: " + p);
  }
  ::unlink(p.c_str()); // stale: the lock says no master owns it
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw Error(ExitCode::internal, std::string("socket: ") + std::strerror(errno));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  mode_t old = ::umask(077);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(fd, 128) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(ExitCode::internal, "cannot listen on " + p + ": " + std::strerror(err));
  }
  return fd;
}

int serve(const config::ClusterProfile& profile, const MasterSettings& settings,
          const MasterPaths& paths, std::unique_ptr<ssh::Session> session, int listen_fd,
          bool terminal) {
  ssh::MuxOptions mo;
  mo.max_sessions = settings.max_sessions;
  mo.idle_timeout =
      std::chrono::seconds(settings.idle_timeout_s.value_or(profile.connect_idle_timeout_s));
  mo.reconnect = [profile, terminal]() {
    DirectOptions o;
    // The key was checked at start: now only a recorded key is accepted.
    o.host_keys = ssh::HostKeyPolicy::refuse;
    o.allow_terminal = terminal;
    return connect_session(profile, o);
  };
  mo.log = log_line;
  std::string who = session->target().describe();
  ssh::MuxServer server(std::move(session), mo);
  server.listen(listen_fd);
  g_server = &server;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    ::sigaction(sig, &sa, nullptr);
  }
  log_line("serving " + who + " on " + paths.socket.string() + " (pid " +
           std::to_string(::getpid()) + ")");
  std::string why = server.run();
  g_server = nullptr;
  ::unlink(paths.socket.c_str());
  log_line("stopped: " + why);
  return 0;
}

} // namespace

std::string describe_connection(const proto::Json& d) {
  auto str = [&](const char* k) {
    return d.contains(k) && d[k].is_string() ? d[k].get<std::string>() : std::string();
  };
  std::string who = str("user") + "@" + str("host");
  if (str("state") == "stopped") {
    return "no tccp-connect master for " + who + " is running (tools connect directly)";
  }
  std::string line = str("state") + " to " + who;
  if (d.contains("hostname") && d["hostname"].is_string()) {
    line += " (" + str("hostname") + ":" + std::to_string(d.value("port", 22)) + ")";
  }
  line += " since " + str("since") + "\n";
  line += "  " + std::to_string(d.value("open_channels", 0)) + " channels open (" +
          std::to_string(d.value("session_channels", 0)) + " sessions, " +
          std::to_string(d.value("forward_channels", 0)) + " forwards), " +
          std::to_string(d.value("queued", 0)) + " queued";
  if (d.value("spare_channels", 0) > 0) {
    line += ", 1 spare";
  }
  if (d.contains("rtt_ms") && d["rtt_ms"].is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", d["rtt_ms"].get<double>());
    line += "; rtt " + std::string(buf) + " ms";
  }
  line += "; master pid " + std::to_string(d.value("pid", 0));
  if (d.value("reconnects", 0) > 0) {
    line += "; " + std::to_string(d.value("reconnects", 0)) + " reconnects";
  }
  return line;
}

namespace {

void emit_status(cli::Context& ctx, const proto::Json& data) {
  proto::Envelope env;
  env.type = "connection";
  env.data = data;
  ctx.emit(env, [&] { std::cout << describe_connection(data) << '\n'; });
}

void close_inherited_fds(const std::vector<int>& keep) {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(entry.path().filename().c_str());
    if (fd > STDERR_FILENO && std::find(keep.begin(), keep.end(), fd) == keep.end()) {
      fds.push_back(fd);
    }
  }
  for (int fd : fds) {
    ::close(fd); // includes the listing's own descriptor, already closed: harmless
  }
}

bool master_gone(const MasterPaths& paths) {
  int fd = ::open(paths.lock.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return true;
  }
  bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

} // namespace

proto::Json connection_status(const config::ClusterProfile& profile) {
  MasterPaths paths = master_paths(profile);
  std::optional<std::string> answer;
  try {
    answer = remote::ask_master(paths.socket.string(), "status");
  } catch (const Error&) {
    answer.reset();
  }
  proto::Json s = proto::Json::object();
  if (answer) {
    s = proto::Json::parse(*answer, nullptr, false);
    if (s.is_discarded() || !s.is_object()) {
      s = proto::Json::object();
    }
  }
  bool running = s.contains("state");
  auto from_master = [&](const char* key) { return s.contains(key) ? s[key] : proto::Json(); };
  proto::Json d;
  d["cluster"] = profile.name;
  d["state"] = running ? s["state"] : proto::Json("stopped");
  if (running) {
    d["host"] = from_master("host");
    d["hostname"] = from_master("hostname");
    d["port"] = from_master("port");
    d["user"] = from_master("user");
  } else {
    // What a connection would use: the profile through ssh_config.
    d["host"] = profile.host;
    d["hostname"] = nullptr;
    d["port"] = profile.port ? proto::Json(*profile.port) : proto::Json(nullptr);
    d["user"] = profile.user ? proto::Json(*profile.user) : proto::Json(nullptr);
    try {
      ssh::Target t = resolve_target(profile);
      d["hostname"] = t.hostname;
      d["port"] = t.port;
      d["user"] = t.user;
    } catch (const Error&) {
      // an unusable profile still has a status: stopped
    }
  }
  d["since"] = from_master("since");
  d["pid"] = from_master("pid");
  d["socket"] = paths.socket.string();
  int sessions = s.value("session_channels", 0);
  int forwards = s.value("forward_channels", 0);
  d["open_channels"] = sessions + forwards;
  d["session_channels"] = sessions;
  d["forward_channels"] = forwards;
  d["spare_channels"] = s.value("spare_channels", 0);
  d["queued"] = s.value("queued", 0);
  d["clients"] = s.value("clients", 0);
  d["max_sessions"] = from_master("max_sessions");
  d["rtt_ms"] = from_master("rtt_ms");
  d["reconnects"] = s.value("reconnects", 0);
  d["requests"] = s.value("requests", 0);
  d["last_error"] = from_master("last_error");
  return d;
}

int start_master(const config::ClusterProfile& profile, const MasterSettings& settings,
                 cli::Context& ctx) {
  if (profile.host.empty()) {
    throw Error(ExitCode::config, "no cluster configured",
                "run 'tccp setup', or pass --host to tccp-connect");
  }
  MasterPaths paths = master_paths(profile);
  try {
    util::ensure_private_dir(paths.dir);
  } catch (const std::exception& e) {
    throw Error(ExitCode::config,
                std::string("cannot use ") + paths.dir.string() + ": " + e.what());
  }
  int lock = ::open(paths.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    throw Error(ExitCode::config,
                "cannot open " + paths.lock.string() + ": " + std::strerror(errno));
  }
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock);
    // Another master runs (or is still authenticating): wait until it
    // answers, so `start && tool` never races it.
    auto deadline = Clock::now() + std::chrono::minutes(5);
    while (Clock::now() < deadline && !master_gone(paths)) {
      proto::Json d = connection_status(profile);
      if (d.value("state", "") != "stopped") {
        ctx.printer().info("tccp-connect: already running");
        emit_status(ctx, d);
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(ExitCode::unreachable, "another tccp-connect for this cluster did not start",
                "see " + paths.log.string());
  }

  if (settings.foreground) {
    DirectOptions o;
    o.host_keys = settings.host_keys;
    auto session = connect_session(profile, o);
    int listen_fd = bind_socket(paths.socket);
    int rc = serve(profile, settings, paths, std::move(session), listen_fd, true);
    ::close(lock);
    return rc;
  }

  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    throw Error(ExitCode::internal, std::string("fork: ") + std::strerror(errno));
  }
  if (pid > 0) {
    ::close(ready[1]);
    ::close(lock);
    std::string msg;
    char buf[4096];
    while (true) {
      ssize_t r = ::read(ready[0], buf, sizeof buf);
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0) {
        break;
      }
      msg.append(buf, static_cast<std::size_t>(r));
    }
    ::close(ready[0]);
    if (msg.rfind("ok", 0) == 0) {
      emit_status(ctx, connection_status(profile));
      return 0;
    }
    ::waitpid(pid, nullptr, 0);
    if (msg.rfind("err\n", 0) == 0) {
      throw ssh::mux::decode_failure(msg.substr(4));
    }
    throw Error(ExitCode::internal, "the tccp-connect master did not start",
                "see " + paths.log.string());
  }

  // The master: authenticate while the caller's terminal is still ours,
  // then detach. Descriptors inherited from the caller (a pipe its shell
  // waits on, a test harness's) must not stay open for the master's life.
  ::close(ready[0]);
  close_inherited_fds({lock, ready[1]});
  std::unique_ptr<ssh::Session> session;
  int listen_fd = -1;
  try {
    DirectOptions o;
    o.host_keys = settings.host_keys;
    session = connect_session(profile, o);
    listen_fd = bind_socket(paths.socket);
  } catch (const Error& e) {
    std::string msg = "err\n" + ssh::mux::encode_failure(e);
    (void)!::write(ready[1], msg.data(), msg.size());
    ::close(ready[1]);
    return static_cast<int>(e.code());
  }
  ::setsid();
  // A daemon keeps no directory busy; what it reads later (credentials,
  // known_hosts under TCCP_HOME) is named absolutely first.
  ::setenv("TCCP_HOME", std::filesystem::absolute(tccp_home()).c_str(), 1);
  (void)!::chdir("/");
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int log_fd = ::open(paths.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::close(null_fd);
  }
  if (log_fd >= 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::close(log_fd);
  }
  static constexpr char ok[] = "ok\n";
  (void)!::write(ready[1], ok, sizeof ok - 1);
  ::close(ready[1]);
  int rc = serve(profile, settings, paths, std::move(session), listen_fd, false);
  ::close(lock);
  return rc;
}

int stop_master(const config::ClusterProfile& profile, cli::Context& ctx) {
  MasterPaths paths = master_paths(profile);
  std::optional<std::string> answer;
  try {
    answer = remote::ask_master(paths.socket.string(), "stop");
  } catch (const Error&) {
    answer.reset();
  }
  if (!answer) {
    ctx.printer().info("tccp-connect: no master is running for " + profile.host);
    return 0;
  }
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!master_gone(paths)) {
    if (Clock::now() > deadline) {
      throw Error(ExitCode::failed, "the tccp-connect master did not stop within 15 s",
                  "see " + paths.log.string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ctx.printer().info("tccp-connect: stopped");
  return 0;
}

} // namespace tccp::tools
