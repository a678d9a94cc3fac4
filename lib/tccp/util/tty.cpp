#include "tccp/util/tty.hpp"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace tccp::util {

bool is_terminal(int fd) {
  if (::isatty(fd) == 0) {
    return false;
  }
  const char* term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

bool colour_wanted(int fd) {
  const char* no_colour = std::getenv("NO_COLOR");
  return is_terminal(fd) && (no_colour == nullptr || *no_colour == '\0');
}

} // namespace tccp::util
