#include "tccp/cli/repl.hpp"

#include <iostream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "tccp/cli/dispatch.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::cli {

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
  // Each command runs as `tccp <words>` in a child, so a failing or
  // crashing tool never takes the prompt down.
  std::string self = util::self_exe_path();
  std::vector<std::string> argv{self.empty() ? std::string("tccp") : self};
  argv.insert(argv.end(), words.begin(), words.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    util::exec_replace(argv);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return util::decode_wait_status(status);
}

int repl_main() {
  int last = 0;
  std::string line;
  while (true) {
    std::cout << "tccp> " << std::flush;
    if (!std::getline(std::cin, line)) {
      std::cout << '\n';
      break;
    }
    auto trimmed = util::trim(line);
    if (trimmed == "exit" || trimmed == "quit") {
      break;
    }
    last = repl_run_line(trimmed);
  }
  return last;
}

} // namespace tccp::cli
