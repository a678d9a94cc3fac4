#include "tccp/sync/helper.hpp"

#include "tccp/generated/remote_helper.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

std::string helper_command(const std::string &root, const std::string &command,
                           const std::vector<std::string> &args) {
  // The helper travels with the command (`sh -c SCRIPT`), so it needs no
  // installation step: one exec channel, whatever the cluster holds.
  std::vector<std::string> words{"sh",          "-c", std::string(generated::remote_helper_script),
                                 "tccp-remote", root, command};
  words.insert(words.end(), args.begin(), args.end());
  return "TCCP_HELPER_VERSION=" + std::string(generated::remote_helper_hash) + " " +
         util::shell_join(words);
}

remote::ExecResult call_helper(remote::Remote &remote, const std::string &root,
                               const std::string &command, const std::vector<std::string> &args,
                               std::string_view stdin_data) {
  return remote.run(helper_command(root, command, args), stdin_data);
}

remote::ExecResult
call_helper_stream(remote::Remote &remote, const std::string &root, const std::string &command,
                   const std::vector<std::string> &args, const remote::Producer &producer,
                   const remote::Sink &on_stdout, const remote::Sink &on_stderr) {
  return remote.stream(helper_command(root, command, args), producer, on_stdout, on_stderr);
}

} // namespace tccp::sync
