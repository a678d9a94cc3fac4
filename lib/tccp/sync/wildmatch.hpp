#pragma once
/// Glob matching with git's semantics (the matcher behind .gitignore):
/// `?`, `*`, `[...]` classes (ranges, `!`/`^` negation, `[:alpha:]` and the
/// other POSIX names), backslash escapes, and, in path mode, `*` and `?`
/// that never cross a `/` while a `**` that stands alone between slashes (or
/// at either end) spans any number of directories.
#include <string_view>

namespace tccp::sync {

enum class GlobMode {
  basename, ///< `*` matches any characters (the text is one file name)
  path,     ///< `*` stops at `/`; `**` between slashes crosses directories
};

/// True when `pattern` matches the whole of `text`. A malformed character
/// class (`[[:nope:]]`, an unterminated `[`) never matches, as in git.
bool glob_match(std::string_view pattern, std::string_view text, GlobMode mode);

} // namespace tccp::sync
