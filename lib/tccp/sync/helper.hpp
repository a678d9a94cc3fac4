#pragma once
/// How sync runs the remote helper (`tccp-remote ROOT COMMAND ARGS...`, the
/// script assembled from remote/parts). One call = one exec channel.
#include <string>
#include <vector>

namespace tccp::sync {

/// The shell command line that runs helper command `command` with `args`
/// under the tccp root `root` (which may start with `~/`). Every argument
/// goes through util::shell_quote.
std::string helper_command(const std::string &root, const std::string &command,
                           const std::vector<std::string> &args);

} // namespace tccp::sync
