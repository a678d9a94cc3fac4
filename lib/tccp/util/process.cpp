#include "tccp/util/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

#include "tccp/util/strings.hpp"

namespace tccp::util {

namespace {
std::vector<char*> to_cargv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    out.push_back(const_cast<char*>(a.c_str()));
  }
  out.push_back(nullptr);
  return out;
}
} // namespace

int decode_wait_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return 1;
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  auto make_pipe = [](int p[2]) {
    if (::pipe2(p, O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe");
    }
  };
  if (options.stdin_data) {
    make_pipe(in_pipe);
  }
  if (options.capture_stdout) {
    make_pipe(out_pipe);
  }
  if (options.capture_stderr) {
    make_pipe(err_pipe);
  }
  auto cargv = to_cargv(argv);
  pid_t pid = ::fork();
  if (pid < 0) {
    throw std::system_error(errno, std::generic_category(), "fork");
  }
  if (pid == 0) {
    if (options.stdin_data) {
      ::dup2(in_pipe[0], 0);
    } else {
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
    }
    if (options.capture_stdout) {
      ::dup2(out_pipe[1], 1);
    }
    if (options.capture_stderr) {
      ::dup2(err_pipe[1], 2);
    }
    for (const auto& name : options.env_unset) {
      ::unsetenv(name.c_str());
    }
    for (const auto& [name, value] : options.env_set) {
      ::setenv(name.c_str(), value.c_str(), 1);
    }
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(cargv[0], cargv.data());
    std::fprintf(stderr, "cannot run '%s': %s\n", cargv[0], std::strerror(errno));
    ::_exit(127);
  }
  if (in_pipe[0] >= 0) {
    ::close(in_pipe[0]);
  }
  if (out_pipe[1] >= 0) {
    ::close(out_pipe[1]);
  }
  if (err_pipe[1] >= 0) {
    ::close(err_pipe[1]);
  }
  ProcessResult result;
  std::string_view pending_in =
      options.stdin_data ? std::string_view(*options.stdin_data) : std::string_view();
  int in_fd = in_pipe[1];
  if (in_fd >= 0 && pending_in.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  if (in_fd >= 0) {
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int out_fd = out_pipe[0];
  int err_fd = err_pipe[0];
  auto deadline = options.timeout ? std::chrono::steady_clock::now() + *options.timeout
                                  : std::chrono::steady_clock::time_point::max();
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    std::vector<pollfd> fds;
    if (in_fd >= 0) {
      fds.push_back({in_fd, POLLOUT, 0});
    }
    if (out_fd >= 0) {
      fds.push_back({out_fd, POLLIN, 0});
    }
    if (err_fd >= 0) {
      fds.push_back({err_fd, POLLIN, 0});
    }
    int wait_ms = -1;
    if (options.timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);
        result.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (auto& p : fds) {
      if (p.revents == 0) {
        continue;
      }
      if (p.fd == in_fd) {
        ssize_t w = ::write(in_fd, pending_in.data(), pending_in.size());
        if (w > 0) {
          pending_in.remove_prefix(static_cast<std::size_t>(w));
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          pending_in = {};
        }
        if (pending_in.empty()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t r = ::read(p.fd, buf, sizeof buf);
      if (r > 0) {
        (p.fd == out_fd ? result.out : result.err).append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(p.fd);
        (p.fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = decode_wait_status(status);
  return result;
}

void exec_replace(const std::vector<std::string>& argv) {
  auto cargv = to_cargv(argv);
  ::execvp(cargv[0], cargv.data());
}

std::string self_exe_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    return {};
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) {
    return std::nullopt;
  }
  for (const auto& dir : split(path, ':')) {
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

} // namespace tccp::util
