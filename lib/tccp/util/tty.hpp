#pragma once
/// Terminal facts: whether a stream is a terminal and whether colour is wanted.

namespace tccp::util {

/// True when `fd` is a terminal and TERM is not "dumb".
bool is_terminal(int fd);

/// True when colour should be used on `fd`: a terminal, and NO_COLOR unset.
bool colour_wanted(int fd);

} // namespace tccp::util
