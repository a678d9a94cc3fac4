#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tccp/core/error.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/util/process.hpp"

namespace tccp::remote {

namespace {
const char* signal_name(int sig) {
  switch (sig) {
  case SIGTERM: return "TERM";
  case SIGKILL: return "KILL";
  case SIGINT: return "INT";
  case SIGHUP: return "HUP";
  case SIGSEGV: return "SEGV";
  case SIGABRT: return "ABRT";
  case SIGPIPE: return "PIPE";
  default: return "UNKNOWN";
  }
}

struct Child {
  pid_t pid = -1;
  int in = -1;
  int out = -1;
  int err = -1;
};

Child spawn(const std::string& command) {
  int in[2];
  int out[2];
  int err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    throw Error(ExitCode::internal, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  return Child{pid, in[1], out[0], err[0]};
}

ExecResult finish(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ExecResult r;
  if (WIFSIGNALED(status)) {
    r.exit_code = 128 + WTERMSIG(status);
    r.signal = signal_name(WTERMSIG(status));
  } else {
    r.exit_code = util::decode_wait_status(status);
  }
  return r;
}

// Drains whatever stdout/stderr have ready; waits up to `wait_ms`.
void pump(Child& c, const Sink& on_out, const Sink& on_err, int wait_ms, bool want_write,
          bool* writable) {
  pollfd fds[3];
  nfds_t n = 0;
  if (c.out >= 0) {
    fds[n++] = {c.out, POLLIN, 0};
  }
  if (c.err >= 0) {
    fds[n++] = {c.err, POLLIN, 0};
  }
  if (want_write && c.in >= 0) {
    fds[n++] = {c.in, POLLOUT, 0};
  }
  if (n == 0) {
    return;
  }
  if (::poll(fds, n, wait_ms) <= 0) {
    return;
  }
  char buf[65536];
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) {
      continue;
    }
    if (fds[i].fd == c.in) {
      *writable = true;
      continue;
    }
    ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
    bool is_out = fds[i].fd == c.out;
    if (r > 0) {
      (is_out ? on_out : on_err)(std::string_view(buf, static_cast<std::size_t>(r)));
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
      ::close(fds[i].fd);
      (is_out ? c.out : c.err) = -1;
    }
  }
}
} // namespace

ExecResult LocalRemote::run(const std::string& command, std::string_view stdin_data,
                            const ExecOptions& options) {
  std::string out;
  std::string err;
  auto result = stream(
      command, [&](const StdinWriter& w) { w(stdin_data); },
      [&](std::string_view d) { out.append(d); }, [&](std::string_view d) { err.append(d); },
      options);
  result.out = std::move(out);
  result.err = std::move(err);
  return result;
}

ExecResult LocalRemote::stream(const std::string& command, const Producer& producer,
                               const Sink& on_stdout, const Sink& on_stderr,
                               const ExecOptions& /*options*/) {
  Child c = spawn(command);
  ::fcntl(c.in, F_SETFL, O_NONBLOCK);
  StdinWriter writer = [&](std::string_view data) {
    while (!data.empty() && c.in >= 0) {
      ssize_t w = ::write(c.in, data.data(), data.size());
      if (w > 0) {
        data.remove_prefix(static_cast<std::size_t>(w));
        continue;
      }
      if (w < 0 && errno == EAGAIN) {
        bool writable = false;
        pump(c, on_stdout, on_stderr, 1000, true, &writable);
        continue;
      }
      if (w < 0 && errno == EINTR) {
        continue;
      }
      // The command closed its stdin (EPIPE): it does not want more.
      ::close(c.in);
      c.in = -1;
    }
  };
  producer(writer);
  if (c.in >= 0) {
    ::close(c.in);
    c.in = -1;
  }
  while (c.out >= 0 || c.err >= 0) {
    bool writable = false;
    pump(c, on_stdout, on_stderr, -1, false, &writable);
  }
  return finish(c.pid);
}

int Remote::forward(const std::string& host, int port) {
  throw Error(ExitCode::internal,
              describe() + " cannot forward to " + host + ":" + std::to_string(port));
}

int LocalRemote::forward(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0) {
    throw Error(ExitCode::unreachable, "cannot resolve '" + host + "'");
  }
  int last = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  throw Error(ExitCode::unreachable,
              "cannot connect to " + host + ":" + service + ": " + std::strerror(last));
}

int LocalRemote::interactive(const std::string& command) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return finish(pid).exit_code;
}

} // namespace tccp::remote
