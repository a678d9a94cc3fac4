#include "tccp/sync/helper.hpp"

#include "tccp/remote/helper.hpp"

namespace tccp::sync {

std::string helper_command(const std::string &root, const std::string &command,
                           const std::vector<std::string> &args) {
  return remote::helper_command(root, command, args);
}

} // namespace tccp::sync
