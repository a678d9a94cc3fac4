#pragma once
/// Calling the tccp helper on the cluster: one exec channel running
///   ROOT/bin/tccp-remote-<hash> ROOT COMMAND ARGS...
/// (one round trip). The first call against a cluster finds no helper:
/// the command exits with helper_missing_exit, the embedded script
/// (tccp::generated::remote_helper_script) is installed atomically, and the
/// call is repeated. The command line is valid in sh, bash, zsh and csh
/// login shells.
#include <string>
#include <string_view>
#include <vector>

#include "tccp/remote/remote.hpp"

namespace tccp::remote {

/// The exit status meaning "the helper is not installed" (the helper itself
/// never exits with it).
inline constexpr int helper_missing_exit = 213;

/// A remote path as a shell word: "~" and "~/x" become "$HOME" and
/// "$HOME"/'x' (expanded by the remote shell), anything else is quoted.
std::string remote_path_word(std::string_view path);

/// The helper's path under `remote_root` (as a shell word).
std::string helper_path_word(std::string_view remote_root);

/// The one-line command that runs the helper, or exits helper_missing_exit.
std::string helper_command(std::string_view remote_root, const std::string& command,
                           const std::vector<std::string>& args);

/// The command that installs the helper from stdin (atomically).
std::string helper_install_command(std::string_view remote_root);

/// Runs `command args` through the helper and collects its output.
/// Installs the helper first when it is missing (one more round trip, once).
ExecResult call_helper(Remote& remote, std::string_view remote_root, const std::string& command,
                       const std::vector<std::string>& args, std::string_view stdin_data = {},
                       const ExecOptions& options = {});

/// Like call_helper, with stdin from `producer` and output to the sinks as
/// it arrives. On the first call against a cluster the producer may be
/// called twice (its first run's bytes are dropped), so it must be
/// restartable.
ExecResult call_helper_stream(Remote& remote, std::string_view remote_root,
                              const std::string& command, const std::vector<std::string>& args,
                              const Producer& producer, const Sink& on_stdout,
                              const Sink& on_stderr, const ExecOptions& options = {});

/// Installs the helper (whether or not it is there). Throws
/// Error(refused) when the cluster refuses (full disk, read-only root).
void install_helper(Remote& remote, std::string_view remote_root);

} // namespace tccp::remote
