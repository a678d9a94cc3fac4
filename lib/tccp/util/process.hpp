#pragma once
/// Local child processes: run-and-capture, and exec.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tccp::util {

struct ProcessResult {
  int exit_code = 0; ///< exit status, or 128+signal when killed
  std::string out;   ///< captured stdout
  std::string err;   ///< captured stderr
  bool timed_out = false;
};

struct ProcessOptions {
  std::optional<std::string> stdin_data;            ///< fed to stdin, then closed
  bool capture_stdout = true;                       ///< else inherited
  bool capture_stderr = true;                       ///< else inherited
  std::optional<std::chrono::milliseconds> timeout; ///< SIGKILL after this
  std::vector<std::string> env_unset;               ///< variables removed in the child
  std::vector<std::pair<std::string, std::string>> env_set;
};

/// Runs argv[0] (PATH search) with argv, waits for it. Throws
/// std::system_error when it cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

/// Replaces the current process with argv (PATH search unless argv[0] has a
/// slash). Returns only on failure, with errno set.
void exec_replace(const std::vector<std::string>& argv);

/// Decodes a waitpid status: exit code, or 128+signal.
int decode_wait_status(int status);

/// The absolute path of the running executable (/proc/self/exe).
std::string self_exe_path();

/// Searches PATH for `name`; nullopt when absent.
std::optional<std::string> find_in_path(const std::string& name);

} // namespace tccp::util
