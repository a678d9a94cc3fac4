#include "tccp/tools/logs_tool.hpp"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

#include "tccp/cli/dispatch.hpp"
#include "tccp/util/process.hpp"

#include "tccp/sync/output.hpp"
#include "tccp/util/strings.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

namespace {
struct LogsOptions {
  std::string job;
  std::string count;
  int lines = 30;
  bool follow = false;
};

// Splits the helper's stderr into its protocol lines ("run|...",
// "tccp-status|...") and text meant for people.
class StderrLines {
public:
  explicit StderrLines(FollowEnd* end) : m_end(end) {}

  void feed(std::string_view data) {
    m_buffer.append(data);
    std::size_t nl = 0;
    while ((nl = m_buffer.find('\n')) != std::string::npos) {
      line(m_buffer.substr(0, nl));
      m_buffer.erase(0, nl + 1);
    }
  }

  void flush() {
    if (!m_buffer.empty()) {
      std::cerr << m_buffer << std::flush;
      m_buffer.clear();
    }
  }

private:
  void line(const std::string& l) {
    auto f = util::split(l, '|');
    if (f.size() >= 3 && f[0] == "run") {
      m_end->run_id = f[1];
      m_end->state = f[2];
      return;
    }
    constexpr std::string_view helper_error = "tccp-remote: error: ";
    if (util::starts_with(l, helper_error)) {
      m_error = l.substr(helper_error.size());
      return;
    }
    if (f.size() >= 5 && f[0] == "tccp-status") {
      m_end->state = f[1];
      m_end->exit_code = f[2];
      m_end->signal = f[3];
      m_end->reason = f[4];
      return;
    }
    std::cerr << l << '\n' << std::flush;
  }

public:
  const std::string& error() const { return m_error; }

private:
  FollowEnd* m_end;
  std::string m_buffer;
  std::string m_error;
};

void write_out(std::string_view data) {
  std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
  std::cout.flush();
}

// Runs `logs` with MODE and prints the log; returns the run id.
FollowEnd stream_logs(remote::Remote& remote, const JobContext& context,
                      const std::string& selector, const std::string& mode, int lines) {
  FollowEnd end;
  StderrLines err(&end);
  auto r = stream_helper(remote, context.remote_root, "logs",
                         {context.project, selector, mode, std::to_string(lines)}, write_out,
                         [&](std::string_view d) { err.feed(d); });
  err.flush();
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, err.error().empty() ? "cannot read the log: exit status " +
                                                            std::to_string(r.exit_code)
                                                      : err.error());
  }
  return end;
}

int end_status(const FollowEnd& end, const term::Printer& printer) {
  int status = run_exit_status(end.state, end.exit_code);
  if (end.state == "finished") {
    return 0;
  }
  std::string msg = end.run_id + " " + (end.state == "timeout" ? "TIMEOUT" : end.state);
  if (end.state == "failed" && !end.exit_code.empty()) {
    msg += ", exit code " + end.exit_code;
  }
  if (!end.reason.empty()) {
    msg += ": " + end.reason;
  }
  printer.info(msg);
  return status;
}

std::string run_selector(const proto::Json& data) {
  if (data.contains("run") && data["run"].is_object() && data["run"].contains("id") &&
      data["run"]["id"].is_string()) {
    return data["run"]["id"].get<std::string>();
  }
  throw Error(ExitCode::protocol, "the job document has no \"run\"",
              "pipe it through 'tccp-launch start' first");
}

int logs_action(cli::Context& ctx, const LogsOptions& opts, const std::string& mode) {
  auto context = load_context(opts.job);
  auto remote = connect(context);
  if (opts.follow) {
    auto end = follow_log(*remote, context, opts.job, mode == "tail" ? "tailfollow" : "follow",
                          opts.lines);
    return end_status(end, ctx.printer());
  }
  stream_logs(*remote, context, opts.job, mode, opts.lines);
  return 0;
}

int output_action(cli::Context& ctx, const LogsOptions& opts) {
  auto context = load_context(opts.job);
  auto remote = connect(context);
  auto r = call_helper(*remote, context.remote_root, "logs", {context.project, opts.job, "cat"});
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, helper_message(r));
  }
  std::string run_id = "run";
  for (const auto& line : util::split(r.err, '\n')) {
    auto f = util::split(line, '|');
    if (f.size() >= 2 && f[0] == "run") {
      run_id = f[1];
    }
  }
  util::TempDir dir("tccp-output");
  auto file = dir.path() / (run_id + ".log");
  util::atomic_write_file(file, r.out, 0600);
  const char* editor = std::getenv("VISUAL");
  if (editor == nullptr || *editor == '\0') {
    editor = std::getenv("EDITOR");
  }
  std::string ed = editor != nullptr && *editor != '\0' ? editor : "vim";
  std::vector<std::string> argv;
  try {
    argv = util::shell_split(ed);
  } catch (const std::invalid_argument&) {
    argv = {ed};
  }
  argv.push_back(file.string());
  util::ProcessOptions po;
  po.capture_stdout = false;
  po.capture_stderr = false;
  util::ProcessResult res;
  try {
    res = util::run_process(argv, po);
  } catch (const std::system_error& e) {
    throw Error(ExitCode::failed, "cannot start the editor '" + ed + "': " + e.what(),
                "set EDITOR to your editor");
  }
  (void)ctx;
  return res.exit_code;
}
} // namespace

FollowEnd follow_log(remote::Remote& remote, const JobContext& context, const std::string& selector,
                     const std::string& mode, int lines) {
  return stream_logs(remote, context, selector, mode, lines);
}

int view_run(remote::Remote& remote, const JobContext& context, const std::string& selector) {
  return interactive_helper(remote, context.remote_root, "view", {context.project, selector});
}

// Brings the run's output dir back to <project>/<output>/<job>/<stamp>/
// (with `latest`) once the run has ended. A failed download is reported,
// never fatal: the run's own status is what attach returns, and
// 'tccp return <job>' resumes the download.
void download_output(remote::Remote& remote, const JobContext& context, const std::string& run_id,
                     const term::Printer& printer) {
  const auto& d = context.envelope.data;
  if (!d.contains("project_dir") || !d["project_dir"].is_string() || !d.contains("output") ||
      !d["output"].is_string()) {
    return;
  }
  sync::PullRequest req;
  req.remote_root = context.remote_root;
  req.project = context.project;
  req.run_id = run_id;
  req.job = context.job;
  req.output = d["output"].get<std::string>();
  req.local_output = std::filesystem::path(d["project_dir"].get<std::string>()) / req.output;
  if (d.contains("cache") && d["cache"].is_string()) {
    std::string cache = d["cache"].get<std::string>();
    if (util::starts_with(cache, req.output + "/")) {
      req.exclude.push_back(cache.substr(req.output.size() + 1));
    }
  }
  try {
    auto r = sync::pull_output(remote, req);
    if (r.files_total > 0) {
      printer.info("output: " + std::to_string(r.files_total) + " files in " + r.latest.string());
    }
  } catch (const Error& e) {
    printer.warning(std::string("could not download the output: ") + e.what());
    printer.hint("run 'tccp return " + context.job + "' to try again");
  }
}

// Forwards the job's declared ports while attached: a `tccp-tunnel` child,
// ended when attach returns (the ports of a detached run come back with
// `tccp-tunnel <job>`).
class TunnelChild {
public:
  TunnelChild(const JobContext& context, const term::Printer& printer) {
    const auto& d = context.envelope.data;
    if (!d.contains("ports") || !d["ports"].is_array() || d["ports"].empty()) {
      return;
    }
    auto tool = cli::locate_tool("tccp-tunnel");
    if (!tool) {
      printer.warning("tccp-tunnel is not installed: the job's ports are not forwarded");
      return;
    }
    std::vector<std::string> argv{*tool, context.job};
    for (const auto& port : d["ports"]) {
      if (port.is_number_integer()) {
        argv.push_back("-p");
        argv.push_back(std::to_string(port.get<int>()));
      }
    }
    m_pid = ::fork();
    if (m_pid == 0) {
      int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(null_fd, STDOUT_FILENO);
      util::exec_replace(argv);
      ::_exit(127);
    }
  }
  ~TunnelChild() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
  }
  TunnelChild(const TunnelChild&) = delete;
  TunnelChild& operator=(const TunnelChild&) = delete;

private:
  pid_t m_pid = -1;
};

int logs_main(int argc, char** argv) {
  static LogsOptions opts;
  return cli::run_main(
      "tccp-logs", "job output: logs, tail, follow, attach", argc, argv,
      [](CLI::App& app, cli::Common&) {
        auto job_option = [](CLI::App* cmd) {
          cmd->add_option("job", opts.job, "a job name (its newest run) or a run id");
        };
        auto* logs = cli::add_command(app, "logs", "a run's whole output", [](cli::Context& ctx) {
          return logs_action(ctx, opts, "cat");
        });
        job_option(logs);
        logs->add_flag("-f,--follow", opts.follow, "keep printing until the run ends");
        auto* tail = cli::add_command(
            app, "tail", "the last lines of a run's output", [](cli::Context& ctx) {
              if (!opts.count.empty()) {
                try {
                  opts.lines = std::stoi(opts.count);
                } catch (const std::exception&) {
                  throw Error(ExitCode::usage, "'" + opts.count + "' is not a number of lines");
                }
              }
              return logs_action(ctx, opts, "tail");
            });
        job_option(tail);
        tail->add_option("count", opts.count, "how many lines (default 30)");
        tail->add_option("-n,--lines", opts.lines, "how many lines (default 30)");
        tail->add_flag("-f,--follow", opts.follow, "then keep printing until the run ends");
        auto* init =
            cli::add_command(app, "init", "a run's initialization log",
                             [](cli::Context& ctx) { return logs_action(ctx, opts, "init"); });
        init->alias("initlogs");
        job_option(init);
        auto* output = cli::add_command(app, "output", "open a run's output in $EDITOR (vim)",
                                        [](cli::Context& ctx) { return output_action(ctx, opts); });
        job_option(output);
        auto* view = cli::add_command(
            app, "view", "attach to a run on this terminal (Ctrl+\\ detaches)",
            [](cli::Context& ctx) {
              auto context = load_context(opts.job);
              auto remote = connect(context);
              if (!at_terminal()) {
                ctx.printer().info("not a terminal: following the log instead");
                return end_status(follow_log(*remote, context, opts.job, "tailfollow", opts.lines),
                                  ctx.printer());
              }
              return view_run(*remote, context, opts.job);
            });
        job_option(view);
        cli::add_command(
            app, "attach",
            "read a started run's document: view it on a terminal, else follow its log "
            "and exit with its status",
            [](cli::Context& ctx) {
              auto context = context_from_envelope(proto::read_input(std::cin, "job"));
              std::string selector = run_selector(context.envelope.data);
              auto remote = connect(context);
              TunnelChild tunnel(context, ctx.printer());
              if (at_terminal()) {
                int status = view_run(*remote, context, selector);
                auto runs = list_runs(*remote, context);
                for (const auto& r : runs.runs) {
                  if (r.id() == selector && !r.alive()) {
                    download_output(*remote, context, selector, ctx.printer());
                  }
                }
                return status;
              }
              auto end = follow_log(*remote, context, selector, "follow", 0);
              download_output(*remote, context, selector, ctx.printer());
              return end_status(end, ctx.printer());
            });
      });
}

} // namespace tccp::tools
