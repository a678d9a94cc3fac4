#include "tccp/cli/dispatch.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sys/wait.h>
#include <unistd.h>

#include "tccp/cli/docs.hpp"
#include "tccp/cli/repl.hpp"
#include "tccp/core/error.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::cli {

namespace {
constexpr int usage_code = static_cast<int>(ExitCode::usage);

const std::vector<std::string> all_args{"$@"};

Stage tool_stage(const std::string& tool, std::vector<std::string> args) {
  return Stage{"tccp-" + tool, std::move(args)};
}

Verb simple(const std::string& name, const std::string& summary, const std::string& tool,
            std::vector<std::string> args) {
  args.emplace_back("$@");
  return Verb{name, summary, {Stage{tool, std::move(args)}}};
}

void print_help() {
  std::cout << "usage: tccp [--version] [--help] <command> [<args>]\n"
               "       tccp                 (on a terminal: the tccp> prompt)\n\n"
               "Run Python on a SLURM cluster without learning HPC.\n\n"
               "Everyday commands:\n";
  std::size_t width = 0;
  for (const auto& v : verbs()) {
    width = std::max(width, v.name.size());
  }
  for (const auto& t : tools()) {
    width = std::max(width, t.name.size());
  }
  for (const auto& v : verbs()) {
    std::cout << "   " << v.name << std::string(width - v.name.size() + 3, ' ') << v.summary
              << '\n';
  }
  std::cout << "\nTools (each also runs alone as tccp-<tool>):\n";
  for (const auto& t : tools()) {
    std::cout << "   " << t.name << std::string(width - t.name.size() + 3, ' ') << t.summary
              << '\n';
  }
  std::cout << "\nSee 'tccp <command> --help' for a command's options.\n";
}

int dispatch_main_help(const std::string& name);

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const auto& v : verbs()) {
    names.push_back(v.name);
  }
  for (const auto& t : tools()) {
    names.push_back(t.name);
  }
  names.emplace_back("help");
  return names;
}
} // namespace

const std::vector<Tool>& tools() {
  static const std::vector<Tool> table{
      {"config", "resolve, validate and scaffold tccp.yaml"},
      {"connect", "the one authenticated SSH connection per cluster"},
      {"alloc", "find, create, list and release SLURM allocations"},
      {"sync", "push the project to the cluster; pull job output back"},
      {"launch", "start, cancel and inspect runs"},
      {"logs", "job output: logs, tail, follow, attach"},
      {"tunnel", "forward a job's ports to localhost"},
      {"gpus", "GPU availability and the GPU guide"},
  };
  return table;
}

const std::vector<Verb>& verbs() {
  // name, summary, what it runs. "$1" = first argument, "$rest" = the
  // others, "$@" = all of them.
  static const std::vector<Verb> table{
      simple("setup", "save the cluster profile and credentials (once)", "tccp-connect", {"setup"}),
      simple("register", "create tccp.yaml and a project scaffold", "tccp-config", {"init"}),
      // A warm re-run asks the cluster nothing before the start: the
      // allocation last used and an unchanged tree are taken on trust and
      // checked by `launch start` in the round trip that starts the run.
      Verb{"run",
           "start a job and attach to it: run <job> [args]",
           {tool_stage("config", {"resolve", "$1"}),
            tool_stage("alloc", {"ensure", "--optimistic"}),
            tool_stage("sync", {"push", "--optimistic"}),
            tool_stage("launch", {"start", "--", "$rest"}), tool_stage("logs", {"attach"})}},
      simple("view", "attach to a running job (Ctrl+\\ detaches)", "tccp-logs", {"view"}),
      simple("restart", "cancel and re-run a job", "tccp-launch", {"restart"}),
      simple("cancel", "stop a job, during init or while running", "tccp-launch", {"cancel"}),
      simple("jobs", "list runs with status, node, duration", "tccp-launch", {"jobs"}),
      simple("info", "details of a run: ids, node, times, exit code", "tccp-launch", {"info"}),
      simple("logs", "print a job's output", "tccp-logs", {"logs"}),
      simple("tail", "last N lines of a job's output (default 30)", "tccp-logs", {"tail"}),
      simple("output", "open a job's output in $EDITOR", "tccp-logs", {"output"}),
      simple("initlogs", "show a job's initialization log", "tccp-logs", {"init"}),
      simple("open", "shell on the job's node, in its environment", "tccp-launch", {"open"}),
      simple("ssh", "shell or command on a job's node: ssh [job] [cmd]", "tccp-launch", {"ssh"}),
      simple("exec", "run a command on the login node", "tccp-connect", {"exec"}),
      simple("clusterssh", "interactive shell on the login node", "tccp-connect", {"shell"}),
      simple("status", "connection and project state", "tccp-connect", {"status"}),
      simple("allocs", "list SLURM allocations", "tccp-alloc", {"list"}),
      simple("dealloc", "release allocations: [id|all], default all idle", "tccp-alloc",
             {"release"}),
      simple("return", "download a finished job's output", "tccp-sync", {"pull"}),
      simple("clean", "delete old output, keep the latest per job", "tccp-sync", {"clean"}),
      simple("refresh", "reload tccp.yaml and check it", "tccp-config", {"validate"}),
  };
  return table;
}

std::optional<Verb> find_verb(const std::string& name) {
  for (const auto& v : verbs()) {
    if (v.name == name) {
      return v;
    }
  }
  return std::nullopt;
}

std::vector<std::string> expand_stage(const Stage& stage,
                                      const std::vector<std::string>& user_args) {
  std::vector<std::string> argv{stage.tool};
  for (const auto& a : stage.args) {
    if (a == "$@") {
      argv.insert(argv.end(), user_args.begin(), user_args.end());
    } else if (a == "$1") {
      if (!user_args.empty()) {
        argv.push_back(user_args.front());
      }
    } else if (a == "$rest") {
      if (user_args.size() > 1) {
        argv.insert(argv.end(), user_args.begin() + 1, user_args.end());
      }
    } else {
      argv.push_back(a);
    }
  }
  // "--" with nothing after it says nothing.
  if (!argv.empty() && argv.back() == "--") {
    argv.pop_back();
  }
  return argv;
}

std::optional<std::string> locate_tool(const std::string& tool) {
  std::string self = util::self_exe_path();
  if (!self.empty()) {
    auto candidate = std::filesystem::path(self).parent_path() / tool;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return util::find_in_path(tool);
}

int run_pipeline(const std::vector<std::vector<std::string>>& argvs) {
  std::vector<pid_t> pids;
  int prev_read = -1;
  for (std::size_t i = 0; i < argvs.size(); ++i) {
    int fds[2] = {-1, -1};
    bool last = i + 1 == argvs.size();
    if (!last && ::pipe(fds) != 0) {
      throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      throw Error(ExitCode::internal, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      if (prev_read >= 0) {
        ::dup2(prev_read, 0);
        ::close(prev_read);
      }
      if (!last) {
        ::dup2(fds[1], 1);
        ::close(fds[0]);
        ::close(fds[1]);
      }
      util::exec_replace(argvs[i]);
      std::fprintf(stderr, "tccp: error: cannot run '%s': %s\n", argvs[i][0].c_str(),
                   std::strerror(errno));
      ::_exit(127);
    }
    pids.push_back(pid);
    if (prev_read >= 0) {
      ::close(prev_read);
    }
    if (!last) {
      ::close(fds[1]);
      prev_read = fds[0];
    }
  }
  int last_status = 0;
  int first_failure = 0;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    while (::waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
    }
    int code = util::decode_wait_status(status);
    if (i + 1 == pids.size()) {
      last_status = code;
    } else if (code != 0 && first_failure == 0) {
      first_failure = code;
    }
  }
  return last_status != 0 ? last_status : first_failure;
}

namespace {
int dispatch_main_help(const std::string& name) {
  std::vector<std::string> argv;
  if (auto verb = find_verb(name)) {
    auto expanded = expand_stage(verb->stages.front(), {});
    argv = {expanded.front()};
    if (expanded.size() > 1) {
      argv.push_back(expanded[1]);
    }
  } else {
    argv = {"tccp-" + name};
  }
  argv.emplace_back("--help");
  auto path = locate_tool(argv.front());
  if (!path) {
    std::cerr << "tccp: '" << name << "' is not a tccp command. See 'tccp --help'.\n";
    return usage_code;
  }
  argv.front() = *path;
  util::exec_replace(argv);
  return 127;
}
} // namespace

int dispatch_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    if (util::is_terminal(STDIN_FILENO) && util::is_terminal(STDOUT_FILENO)) {
      return repl_main();
    }
    print_help();
    return usage_code;
  }
  const std::string& sub = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    if (!rest.empty()) {
      return dispatch_main_help(rest.front());
    }
    print_help();
    return 0;
  }
  if (sub == "--gen-docs" && rest.size() == 1) {
    // Hidden: `make docs` writes man/ and completions/ from the tools'
    // flag tables (see docs.hpp).
    for (const auto& path : generate_docs(rest.front())) {
      std::cerr << "wrote " << path << '\n';
    }
    return 0;
  }
  if (sub == "--version") {
    std::cout << "tccp " << TCCP_VERSION << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> argvs;
  if (auto verb = find_verb(sub)) {
    for (const auto& stage : verb->stages) {
      argvs.push_back(expand_stage(stage, rest));
    }
  } else {
    bool known = false;
    for (const auto& t : tools()) {
      known = known || t.name == sub;
    }
    if (!known) {
      std::cerr << "tccp: '" << sub << "' is not a tccp command. See 'tccp --help'.\n";
      if (auto guess = util::did_you_mean(sub, command_names())) {
        std::cerr << "\nThe most similar command is\n\t" << *guess << '\n';
      }
      return usage_code;
    }
    std::vector<std::string> argv_tool{"tccp-" + sub};
    argv_tool.insert(argv_tool.end(), rest.begin(), rest.end());
    argvs.push_back(std::move(argv_tool));
  }
  for (auto& a : argvs) {
    auto path = locate_tool(a.front());
    if (!path) {
      std::cerr << "tccp: error: '" << a.front() << "' is not installed next to tccp or on PATH\n";
      return static_cast<int>(ExitCode::internal);
    }
    a.front() = *path;
  }
  if (argvs.size() == 1) {
    util::exec_replace(argvs.front());
    std::cerr << "tccp: error: cannot run '" << argvs.front().front()
              << "': " << std::strerror(errno) << '\n';
    return 127;
  }
  return run_pipeline(argvs);
}

} // namespace tccp::cli
