#include "tccp/tools/connect_tool.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/core/error.hpp"
#include "tccp/remote/mux_remote.hpp"
#include "tccp/ssh/connection.hpp"
#include "tccp/ssh/credentials.hpp"
#include "tccp/tools/connect_master.hpp"
#include "tccp/tools/connect_setup.hpp"
#include "tccp/tools/connection.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::tools {

namespace {

struct Flags {
  std::string host;
  std::optional<int> port;
  std::string user;
  std::vector<std::string> identity;
  std::string known_hosts;
  std::string askpass;
  std::string proxy_jump;
  std::string ssh_config;
  bool accept_new = false;
  // start
  bool foreground = false;
  int max_sessions = 10;
  std::optional<long long> idle_timeout_s;
  // exec, ssh: the words after "--" (CLI11 only sees what comes before)
  bool no_stdin = false;
  std::vector<std::string> words;
  // forward
  std::string forward_host;
  int forward_port = 0;
  // setup
  SetupFlags setup;
};

config::ClusterProfile profile_from(const Flags& f) {
  config::ClusterProfile p = config::load_cluster_profile();
  if (!f.host.empty() && f.host != p.host) {
    // Another cluster than the configured one: start from defaults.
    p = config::ClusterProfile{};
    p.host = f.host;
  }
  if (f.port) {
    p.port = f.port;
  }
  if (!f.user.empty()) {
    p.user = f.user;
  }
  if (!f.identity.empty()) {
    p.identity_files = f.identity;
  }
  if (!f.known_hosts.empty()) {
    p.known_hosts = f.known_hosts;
  }
  if (!f.askpass.empty()) {
    p.askpass = f.askpass;
  }
  if (!f.proxy_jump.empty()) {
    p.proxy_jump = f.proxy_jump;
  }
  return p;
}

ssh::HostKeyPolicy host_key_policy(const Flags& f) {
  return f.accept_new ? ssh::HostKeyPolicy::accept_new : ssh::HostKeyPolicy::ask;
}

// The master when one runs; else a direct connection with the flags' policy.
std::unique_ptr<remote::Remote> remote_for(const Flags& f) {
  config::ClusterProfile p = profile_from(f);
  if (p.host.empty()) {
    throw Error(ExitCode::config, "no cluster configured",
                "run 'tccp setup', or pass --host to tccp-connect");
  }
  if (!f.accept_new) {
    return open_remote(p);
  }
  DirectOptions o;
  o.host_keys = ssh::HostKeyPolicy::accept_new;
  return open_direct(p, o);
}

void write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      throw Error(ExitCode::failed, std::string("write: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
}

int cmd_exec(const Flags& f, const std::vector<std::string>& words) {
  if (words.empty()) {
    throw Error(ExitCode::usage, "exec needs a command", "tccp-connect exec CMD [ARGS...]");
  }
  auto remote = remote_for(f);
  // Like ssh: the words form one command line for the remote shell.
  std::string command = util::join(words, " ");
  bool feed = !f.no_stdin && ::isatty(STDIN_FILENO) == 0;
  remote::Producer producer = [&](const remote::StdinWriter& w) {
    if (!feed) {
      return;
    }
    char buf[65536];
    while (true) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      int n = ::poll(&p, 1, 100);
      if (n == 0) {
        w({}); // show output that arrived meanwhile
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0) {
        return;
      }
      w(std::string_view(buf, static_cast<std::size_t>(r)));
    }
  };
  remote::ExecOptions opts;
  opts.idle_timeout = std::chrono::milliseconds(0);
  auto r = remote->stream(
      command, producer, [](std::string_view d) { write_fd(STDOUT_FILENO, d); },
      [](std::string_view d) { write_fd(STDERR_FILENO, d); }, opts);
  return r.exit_code;
}

int cmd_shell(const Flags& f) {
  auto remote = remote_for(f);
  return remote->interactive("");
}

int cmd_node_ssh(const Flags& f, const std::vector<std::string>& words) {
  if (words.empty()) {
    throw Error(ExitCode::usage, "ssh needs a node name", "tccp-connect ssh NODE [CMD...]");
  }
  config::ClusterProfile p = profile_from(f);
  ssh::Target login = resolve_target(p);
  // The node as the cluster names it, resolved through ssh_config for its
  // HostName, user and keys; the hop is the login connection itself.
  ssh::TargetSpec spec;
  spec.host = words.front();
  spec.user = login.user;
  spec.identity_files = login.identity_files;
  spec.known_hosts_files = login.known_hosts_files;
  spec.proxy_jump = "none";
  spec.askpass = p.askpass;
  spec.tccp_known_hosts = login.tccp_known_hosts;
  ssh::Target node = ssh::resolve_target(spec, ssh::SshConfig::load_default(std::nullopt));
  node.identities_only = login.identities_only || node.identities_only;

  auto remote = remote_for(f);
  int fd = remote->forward(node.hostname, node.port);
  ssh::PromptOptions po;
  po.askpass = node.askpass;
  po.batch = node.batch_mode;
  auto prompter = ssh::make_prompter(po);
  ssh::CredentialStore store(tccp_home());
  ssh::ConnectContext ctx;
  ctx.prompter = prompter.get();
  ctx.host_keys = host_key_policy(f);
  ctx.credentials = &store;
  ctx.info = [](const std::string& line) { std::cerr << line << '\n'; };
  auto session = ssh::Session::connect_over(fd, node, ctx);
  prompter.reset();
  remote::SshRemote node_remote(
      std::make_unique<ssh::Connection>(std::move(session), ssh::MuxOptions{}));
  std::vector<std::string> rest(words.begin() + 1, words.end());
  std::string command = util::join(rest, " ");
  if (!command.empty() && ::isatty(STDIN_FILENO) == 0) {
    remote::Remote& r = node_remote;
    remote::ExecOptions opts;
    opts.idle_timeout = std::chrono::milliseconds(0);
    auto res = r.stream(
        command, nullptr, [](std::string_view d) { write_fd(STDOUT_FILENO, d); },
        [](std::string_view d) { write_fd(STDERR_FILENO, d); }, opts);
    return res.exit_code;
  }
  return node_remote.interactive(command);
}

int cmd_forward(const Flags& f) {
  auto remote = remote_for(f);
  int fd = remote->forward(f.forward_host, f.forward_port);
  // Never block on one direction while the other has data waiting: the
  // far side may be an echo that stops reading until we read.
  bool in_open = true;
  bool shut = false;
  std::string pending;
  char buf[65536];
  while (true) {
    pollfd fds[2] = {{fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0},
                     {in_open && pending.empty() ? STDIN_FILENO : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      break;
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r > 0) {
        pending.assign(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        in_open = false;
      }
    }
    if (!pending.empty() && (fds[0].revents & (POLLOUT | POLLERR)) != 0) {
      ssize_t w = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        pending.erase(0, static_cast<std::size_t>(w));
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        ::close(fd);
        throw Error(ExitCode::unreachable, "the forwarded connection closed");
      }
    }
    if (!in_open && pending.empty() && !shut) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) {
      ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) {
        write_fd(STDOUT_FILENO, std::string_view(buf, static_cast<std::size_t>(r)));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        break;
      }
    }
  }
  ::close(fd);
  return 0;
}

// Commands whose stdout is the remote program's own output report their
// errors on stderr only (an error envelope would mix into that output).
int raw_output(cli::Context& ctx, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    ctx.printer().error(e.what());
    if (!e.hint().empty()) {
      ctx.printer().hint(e.hint());
    }
    return static_cast<int>(e.code());
  }
}

// The command words of exec and ssh: those CLI11 left over from the first
// word on (prefix_command), then those after "--".
std::vector<std::string> command_words(const Flags& f, const CLI::App& sub) {
  std::vector<std::string> words = sub.remaining();
  words.insert(words.end(), f.words.begin(), f.words.end());
  return words;
}

void add_profile_flags(CLI::App& app, Flags& f) {
  app.add_option("--host", f.host, "Cluster login host (address or ~/.ssh/config alias)")
      ->group("Connection");
  app.add_option("--port", f.port, "SSH port")->group("Connection");
  app.add_option("--user", f.user, "User name on the cluster")->group("Connection");
  app.add_option("--identity", f.identity, "Private key file to try (repeatable)")
      ->group("Connection");
  app.add_option("--known-hosts", f.known_hosts, "Extra known_hosts file to trust")
      ->group("Connection");
  app.add_option("--askpass", f.askpass,
                 "Program answering prompts without a terminal (gets the prompt as argument)")
      ->group("Connection");
  app.add_option("--proxy-jump", f.proxy_jump, "Jump host(s): [user@]host[:port],...")
      ->group("Connection");
  app.add_option("-F,--ssh-config", f.ssh_config, "ssh_config file to use instead of ~/.ssh/config")
      ->group("Connection");
  app.add_flag("--accept-new", f.accept_new,
               "Trust and record an unknown host key (a changed key is still refused)")
      ->group("Connection");
}

} // namespace

int connect_main(int argc, char** argv) {
  auto flags = std::make_shared<Flags>();
  // "exec -- CMD..." and "ssh -- NODE CMD...": everything after a "--"
  // that comes before the first command word is the command, whatever it
  // looks like (a later "--" belongs to the command).
  std::vector<char*> args(argv, argv + argc);
  int sub = 0;
  for (int i = 1; i < argc && sub == 0; ++i) {
    std::string_view a = argv[i];
    if (a == "exec" || a == "ssh") {
      sub = i;
    }
  }
  for (int i = sub + 1; sub > 0 && i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      flags->words.assign(argv + i + 1, argv + argc);
      args.resize(static_cast<std::size_t>(i));
      break;
    }
    if (a.empty() || a.front() != '-') {
      break; // the first command word
    }
  }
  return cli::run_main(
      "tccp-connect", "The one authenticated SSH connection per cluster",
      static_cast<int>(args.size()), args.data(), [flags](CLI::App& app, cli::Common& /*common*/) {
        Flags& f = *flags;
        app.fallthrough();
        add_profile_flags(app, f);
        app.parse_complete_callback([flags] {
          if (!flags->ssh_config.empty()) {
            // Every connection of this process (and the master it starts)
            // reads this ssh_config; it names a file, never a secret.
            std::string path = std::filesystem::absolute(flags->ssh_config).string();
            ::setenv("TCCP_SSH_CONFIG", path.c_str(), 1);
          }
        });

        CLI::App* start = cli::add_command(
            app, "start", "Authenticate once and serve every tool (returns once logged in)",
            [flags](cli::Context& ctx) {
              MasterSettings s;
              s.foreground = flags->foreground;
              s.max_sessions = flags->max_sessions;
              s.host_keys = host_key_policy(*flags);
              s.idle_timeout_s = flags->idle_timeout_s;
              return start_master(profile_from(*flags), s, ctx);
            });
        start->add_flag("--foreground", f.foreground, "Serve in this process (logs on stderr)");
        start
            ->add_option("--max-sessions", f.max_sessions,
                         "Session channels at once (the server's MaxSessions)")
            ->check(CLI::Range(1, 1000));
        start
            ->add_option("--idle-timeout", f.idle_timeout_s,
                         "Stop after this many seconds without clients (0: never)")
            ->check(CLI::NonNegativeNumber);

        cli::add_command(app, "status", "The connection: host, user, since, channels, RTT",
                         [flags](cli::Context& ctx) {
                           proto::Envelope env;
                           env.type = "connection";
                           env.data = connection_status(profile_from(*flags));
                           ctx.emit(env,
                                    [&] { std::cout << describe_connection(env.data) << '\n'; });
                           return 0;
                         });

        cli::add_command(
            app, "stop", "Close the connection and stop the master",
            [flags](cli::Context& ctx) { return stop_master(profile_from(*flags), ctx); });

        auto exec_app = std::make_shared<CLI::App*>(nullptr);
        CLI::App* exec = cli::add_command(
            app, "exec", "Run CMD [ARGS...] on the login node (its exit status passes through)",
            [flags, exec_app](cli::Context& ctx) {
              return raw_output(
                  ctx, [&] { return cmd_exec(*flags, command_words(*flags, **exec_app)); });
            });
        *exec_app = exec;
        exec->add_flag("-n,--no-stdin", f.no_stdin, "Do not pass stdin to the command");
        exec->prefix_command();
        exec->fallthrough(false);

        cli::add_command(app, "shell", "Interactive login shell on the login node",
                         [flags](cli::Context& ctx) {
                           return raw_output(ctx, [&] { return cmd_shell(*flags); });
                         });

        auto node_app = std::make_shared<CLI::App*>(nullptr);
        CLI::App* node = cli::add_command(
            app, "ssh",
            "ssh NODE [CMD...]: a terminal (or CMD) on a compute node, through the login host",
            [flags, node_app](cli::Context& ctx) {
              return raw_output(
                  ctx, [&] { return cmd_node_ssh(*flags, command_words(*flags, **node_app)); });
            });
        *node_app = node;
        node->prefix_command();
        node->fallthrough(false);

        CLI::App* fwd = cli::add_command(
            app, "forward", "Connect stdin/stdout to HOST:PORT as seen from the cluster",
            [flags](cli::Context& ctx) {
              return raw_output(ctx, [&] { return cmd_forward(*flags); });
            });
        fwd->add_option("host", f.forward_host, "Host name or address")->required();
        fwd->add_option("port", f.forward_port, "Port")->required()->check(CLI::Range(1, 65535));

        CLI::App* setup = cli::add_command(
            app, "setup", "Record the cluster, its host key and your credentials (once)",
            [flags](cli::Context& ctx) {
              SetupFlags s = flags->setup;
              s.host = flags->host;
              s.port = flags->port;
              s.user = flags->user;
              s.identity = flags->identity;
              s.askpass = flags->askpass;
              s.proxy_jump = flags->proxy_jump;
              s.known_hosts = flags->known_hosts;
              s.accept_new = flags->accept_new;
              return run_setup(s, ctx);
            });
        add_setup_flags(*setup, f.setup);
      });
}

} // namespace tccp::tools
