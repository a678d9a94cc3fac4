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

} // namespace tccp::sync
