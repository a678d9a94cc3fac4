#pragma once
/// Errors and exit codes shared by every tccp tool.
#include <stdexcept>
#include <string>

namespace tccp {

/// One exit-code table for all tools (docs/protocol.md).
enum class ExitCode : int {
  ok = 0,
  failed = 1,       ///< the operation ran and failed (job failed, nothing free)
  usage = 2,        ///< bad command line
  config = 3,       ///< bad configuration
  protocol = 4,     ///< bad or incompatible JSON document
  auth = 5,         ///< authentication or host key
  unreachable = 6,  ///< cluster unreachable or timed out
  refused = 7,      ///< cluster refused (sbatch rejected, quota)
  internal = 70,    ///< a bug in tccp
  interrupted = 130 ///< SIGINT
};

/// The stable name of an exit code ("config", "auth", ...), used in error
/// envelopes.
const char* exit_code_name(ExitCode code);

/// Maps a name back; unknown names give ExitCode::failed.
ExitCode exit_code_from_name(const std::string& name);

/// The one error type of tccp: a message in git's voice (without the
/// "tool: error: " prefix), an exit code and an optional hint telling the
/// user what to do. Thrown in lib/, caught once in cli::run_main.
class Error : public std::runtime_error {
public:
  Error(ExitCode code, std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), m_code(code), m_hint(std::move(hint)) {}

  ExitCode code() const { return m_code; }
  const std::string& hint() const { return m_hint; }

private:
  ExitCode m_code;
  std::string m_hint;
};

} // namespace tccp
