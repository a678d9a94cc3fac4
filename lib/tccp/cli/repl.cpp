#include "tccp/cli/repl.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <editline/readline.h>

#include "tccp/cli/dispatch.hpp"
#include "tccp/proto/envelope.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::cli {

namespace {
// Commands only the prompt knows.
const std::vector<std::string> builtins{"help", "exit", "quit"};

std::vector<std::string> completion_words() {
  std::vector<std::string> words = builtins;
  for (const auto& v : verbs()) {
    words.push_back(v.name);
  }
  for (const auto& t : tools()) {
    words.push_back(t.name);
  }
  return words;
}

// Job names for the second word, from `tccp-config jobs --json`.
std::vector<std::string> job_names() {
  auto tool = locate_tool("tccp-config");
  if (!tool) {
    return {};
  }
  util::ProcessOptions opts;
  opts.timeout = std::chrono::seconds(5);
  auto r = util::run_process({*tool, "jobs", "--json"}, opts);
  if (r.exit_code != 0) {
    return {};
  }
  std::vector<std::string> names;
  try {
    auto env = proto::parse_envelope(r.out);
    if (env.data.contains("jobs") && env.data["jobs"].is_array()) {
      for (const auto& j : env.data["jobs"]) {
        if (j.is_string()) {
          names.push_back(j.get<std::string>());
        } else if (j.is_object() && j.contains("name") && j["name"].is_string()) {
          names.push_back(j["name"].get<std::string>());
        }
      }
    }
  } catch (const std::exception&) {
    return {};
  }
  return names;
}

std::vector<std::string> g_candidates;

char* candidate_generator(const char* text, int state) {
  static std::size_t index = 0;
  if (state == 0) {
    index = 0;
  }
  std::string_view prefix(text);
  while (index < g_candidates.size()) {
    const auto& c = g_candidates[index++];
    if (util::starts_with(c, prefix)) {
      return ::strdup(c.c_str());
    }
  }
  return nullptr;
}

char** complete(const char* text, int start, int /*end*/) {
  ::rl_attempted_completion_over = 1;
  std::string before(rl_line_buffer, static_cast<std::size_t>(start));
  g_candidates = util::trim(before).empty() ? completion_words() : job_names();
  return ::rl_completion_matches(text, candidate_generator);
}

std::filesystem::path history_path() {
  if (const char* home = std::getenv("TCCP_HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / "history";
  }
  return util::home_dir() / ".tccp" / "history";
}

void print_repl_help() {
  std::cout << "Commands (the same as 'tccp <command>'):\n";
  for (const auto& v : verbs()) {
    std::cout << "  " << v.name << std::string(v.name.size() < 12 ? 12 - v.name.size() : 1, ' ')
              << v.summary << '\n';
  }
  std::cout << "  gpus        GPU availability; 'gpus <type>', 'gpus info' for the guide\n"
               "  exit        leave the prompt (jobs keep running)\n";
}
} // namespace

int repl_run_line(const std::string& line) {
  std::vector<std::string> words;
  try {
    words = util::shell_split(line);
  } catch (const std::invalid_argument& e) {
    std::cerr << "tccp: error: " << e.what() << '\n';
    return 2;
  }
  if (words.empty()) {
    return 0;
  }
  if (words.front() == "help" && words.size() == 1) {
    print_repl_help();
    return 0;
  }
  // Each command runs as `tccp <words>` in a child, so a failing or
  // crashing tool never takes the prompt down.
  std::string self = util::self_exe_path();
  std::vector<std::string> argv{self.empty() ? std::string("tccp") : self};
  argv.insert(argv.end(), words.begin(), words.end());
  pid_t pid = ::fork();
  if (pid < 0) {
    std::cerr << "tccp: error: fork: " << std::strerror(errno) << '\n';
    return 70;
  }
  if (pid == 0) {
    util::exec_replace(argv);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return util::decode_wait_status(status);
}

int repl_main() {
  ::rl_readline_name = const_cast<char*>("tccp");
  ::rl_attempted_completion_function = complete;
  auto history = history_path();
  ::read_history(history.c_str());
  std::cout << "tccp " << TCCP_VERSION << " - type 'help' for commands, 'exit' to leave.\n";
  // Connect once, up front: the one MFA prompt of the session.
  if (auto connect = locate_tool("tccp-connect")) {
    util::ProcessOptions opts;
    opts.capture_stdout = false;
    opts.capture_stderr = false;
    util::run_process({*connect, "start"}, opts);
  }
  int last = 0;
  while (true) {
    char* raw = ::readline("tccp> ");
    if (raw == nullptr) {
      std::cout << '\n';
      break;
    }
    std::string line = util::trim(raw);
    std::free(raw); // NOLINT(cppcoreguidelines-no-malloc): readline allocates with malloc
    if (line.empty()) {
      continue;
    }
    ::add_history(line.c_str());
    if (line == "exit" || line == "quit") {
      break;
    }
    last = repl_run_line(line);
  }
  std::error_code ec;
  std::filesystem::create_directories(history.parent_path(), ec);
  ::write_history(history.c_str());
  return last;
}

} // namespace tccp::cli
