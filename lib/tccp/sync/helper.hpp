#pragma once
/// How sync runs the remote helper (`tccp-remote ROOT COMMAND ARGS...`, the
/// script assembled from remote/parts). One call = one exec channel = one
/// round trip. This is the one place that knows how the helper reaches the
/// cluster.
#include <string>
#include <string_view>
#include <vector>

#include "tccp/remote/remote.hpp"

namespace tccp::sync {

/// The shell command line that runs helper command `command` with `args`
/// under the tccp root `root` (which may start with `~/`). Every argument
/// goes through util::shell_quote. For callers that batch it with other
/// work; call_helper() runs it.
std::string helper_command(const std::string& root, const std::string& command,
                           const std::vector<std::string>& args);

/// Runs a helper command and collects its output.
remote::ExecResult call_helper(remote::Remote& remote, const std::string& root,
                               const std::string& command, const std::vector<std::string>& args,
                               std::string_view stdin_data = {});

/// Runs a helper command with stdin from `producer` and its output to the
/// sinks as it arrives. The producer must be restartable (it may run twice,
/// the first run's bytes dropped, when the helper is installed on the way).
remote::ExecResult call_helper_stream(remote::Remote& remote, const std::string& root,
                                      const std::string& command,
                                      const std::vector<std::string>& args,
                                      const remote::Producer& producer,
                                      const remote::Sink& on_stdout, const remote::Sink& on_stderr);

} // namespace tccp::sync
