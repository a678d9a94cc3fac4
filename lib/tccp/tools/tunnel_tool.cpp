#include "tccp/tools/tunnel_tool.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "tccp/cli/app.hpp"
#include "tccp/config/project.hpp"
#include "tccp/tools/jobs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::tools {

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

struct Listener {
  int fd = -1;
  int port = 0;
};

// One forwarded connection: bytes both ways between the local client and
// the stream to the node; each side's EOF is passed on with shutdown().
struct Pipe {
  int local = -1;
  int remote = -1;
  bool local_eof = false;
  bool remote_eof = false;
};

int listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw Error(ExitCode::internal, std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    int saved = errno;
    ::close(fd);
    throw Error(ExitCode::failed,
                "cannot listen on localhost:" + std::to_string(port) + ": " + std::strerror(saved),
                "stop what uses that port, or forward another with -p");
  }
  return fd;
}

// Copies what `from` has to `to`; false at EOF or error.
bool copy_some(int from, int to) {
  char buf[65536];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) {
    return n < 0 && (errno == EINTR || errno == EAGAIN);
  }
  std::size_t off = 0;
  while (off < static_cast<std::size_t>(n)) {
    ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n) - off);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    off += static_cast<std::size_t>(w);
  }
  return true;
}

bool run_alive(remote::Remote& remote, const JobContext& context, const std::string& run_id) {
  auto listing = list_runs(remote, context);
  for (const auto& r : listing.runs) {
    if (r.id() == run_id) {
      return r.alive();
    }
  }
  return false;
}

int tunnel(cli::Context& ctx, const std::string& job, std::vector<int> ports) {
  auto context = load_context(job);
  if (ports.empty()) {
    auto global = config::load_global();
    auto project = config::load_project(std::filesystem::current_path(), global);
    auto spec = config::resolve_job(project, global,
                                    job.empty() ? std::nullopt : std::optional<std::string>(job));
    context.job = spec.job;
    ports = spec.ports;
  }
  if (context.job.empty()) {
    throw Error(ExitCode::usage, "which job's ports?", "name it: tccp-tunnel <job>");
  }
  if (ports.empty()) {
    throw Error(ExitCode::failed, "job '" + context.job + "' declares no ports",
                "add 'ports: [6006]' to it in tccp.yaml, or give -p PORT");
  }
  auto remote = connect(context);
  const auto listing = list_runs(*remote, context);
  const RunRecord& run = newest_live_run(listing, context.job);
  const std::string run_id = run.id();
  const std::string node = run.get("node");
  std::vector<Listener> listeners;
  for (int p : ports) {
    listeners.push_back({listen_on(p), p});
    ctx.printer().info("forwarding localhost:" + std::to_string(p) + " -> " + node + ":" +
                       std::to_string(p) + " (" + run_id + ")");
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::vector<Pipe> pipes;
  auto last_check = std::chrono::steady_clock::now();
  while (g_stop == 0) {
    std::vector<pollfd> fds;
    for (const auto& l : listeners) {
      fds.push_back({l.fd, POLLIN, 0});
    }
    for (const auto& p : pipes) {
      fds.push_back({p.local, static_cast<short>(p.local_eof ? 0 : POLLIN), 0});
      fds.push_back({p.remote, static_cast<short>(p.remote_eof ? 0 : POLLIN), 0});
    }
    int n = ::poll(fds.data(), fds.size(), 5000);
    if (n < 0 && errno != EINTR) {
      break;
    }
    // The run is the tunnel's reason to be: stop when it ends.
    if (std::chrono::steady_clock::now() - last_check > std::chrono::seconds(15)) {
      last_check = std::chrono::steady_clock::now();
      if (!run_alive(*remote, context, run_id)) {
        ctx.printer().info(run_id + " ended; closing the tunnel");
        break;
      }
    }
    if (n <= 0) {
      continue;
    }
    // Only the pipes that were polled have revents; ones accepted below
    // join the next poll.
    const std::size_t polled = pipes.size();
    std::size_t i = 0;
    for (const auto& l : listeners) {
      if ((fds[i++].revents & POLLIN) != 0) {
        int client = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
          continue;
        }
        try {
          pipes.push_back({client, remote->forward(node, l.port)});
        } catch (const Error& e) {
          ctx.printer().warning(e.what());
          ::close(client);
        }
      }
    }
    for (std::size_t k = 0; k < polled; ++k, i += 2) {
      auto& p = pipes[k];
      if (fds[i].revents != 0 && !p.local_eof && !copy_some(p.local, p.remote)) {
        p.local_eof = true;
        ::shutdown(p.remote, SHUT_WR);
      }
      if (fds[i + 1].revents != 0 && !p.remote_eof && !copy_some(p.remote, p.local)) {
        p.remote_eof = true;
        ::shutdown(p.local, SHUT_WR);
      }
    }
    std::vector<Pipe> open;
    for (auto& p : pipes) {
      if (p.local_eof && p.remote_eof) {
        ::close(p.local);
        ::close(p.remote);
      } else {
        open.push_back(p);
      }
    }
    pipes = std::move(open);
  }
  for (auto& p : pipes) {
    ::close(p.local);
    ::close(p.remote);
  }
  for (auto& l : listeners) {
    ::close(l.fd);
  }
  return 0;
}
} // namespace

int tunnel_main(int argc, char** argv) {
  return cli::run_main(
      "tccp-tunnel", "forward a running job's ports to localhost", argc, argv,
      [](CLI::App& app, cli::Common&) {
        auto job = std::make_shared<std::string>();
        auto ports = std::make_shared<std::vector<int>>();
        app.add_option("job", *job, "the job (default: the only or implicit one)");
        app.add_option("-p,--port", *ports, "a port to forward (default: the job's ports)")
            ->check(CLI::Range(1, 65535));
        cli::set_action(app, [job, ports](cli::Context& ctx) { return tunnel(ctx, *job, *ports); });
      });
}

} // namespace tccp::tools
