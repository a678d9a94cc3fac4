#include "tccp/sync/helper.hpp"

#include "tccp/remote/helper.hpp"

namespace tccp::sync {

// The helper is installed under the remote root once per version
// (remote::call_helper installs it on first use), so a call sends only its
// command line: one exec channel, one round trip.
std::string helper_command(const std::string& root, const std::string& command,
                           const std::vector<std::string>& args) {
  return remote::helper_command(root, command, args);
}

remote::ExecResult call_helper(remote::Remote& remote, const std::string& root,
                               const std::string& command, const std::vector<std::string>& args,
                               std::string_view stdin_data) {
  return remote::call_helper(remote, root, command, args, stdin_data);
}

remote::ExecResult
call_helper_stream(remote::Remote& remote, const std::string& root, const std::string& command,
                   const std::vector<std::string>& args, const remote::Producer& producer,
                   const remote::Sink& on_stdout, const remote::Sink& on_stderr) {
  return remote::call_helper_stream(remote, root, command, args, producer, on_stdout, on_stderr);
}

} // namespace tccp::sync
