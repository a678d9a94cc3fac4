#pragma once
/// Ignore rules with git's semantics: the syntax of .gitignore (comments,
/// `\#` and `\!` escapes, trailing spaces unless escaped, `!` negation,
/// `dir/` for directories only, a `/` anywhere anchoring the pattern to the
/// file's directory, `*`, `?`, `[...]`, `**`) and git's precedence (a deeper
/// file beats a shallower one, a later line beats an earlier one).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tccp::sync {

/// One pattern line of an ignore file.
struct IgnorePattern {
  std::string pattern;   ///< without the leading `!`, the leading `/` kept
  std::string base;      ///< directory of the ignore file, "" or "a/b/"
  bool negated = false;  ///< `!pattern`: re-includes
  bool dir_only = false; ///< `pattern/`: matches directories only
  bool basename = false; ///< no `/` in it: matches the name at any depth
};

/// The patterns of one ignore file, in file order.
class IgnoreList {
public:
  IgnoreList() = default;

  /// Parses the text of an ignore file found in directory `base` ("" for the
  /// root, else "a/b/" with a trailing slash). A UTF-8 BOM and CR line ends
  /// are accepted as git accepts them.
  static IgnoreList parse(std::string_view text, std::string base = {});

  /// git's verdict of this list for `path` (relative to the project root,
  /// no trailing slash): the last pattern that matches decides; nullopt
  /// when none does. True means excluded, false re-included.
  std::optional<bool> decide(std::string_view path, bool is_dir) const;

  bool empty() const { return m_patterns.empty(); }
  const std::vector<IgnorePattern>& patterns() const { return m_patterns; }

private:
  std::vector<IgnorePattern> m_patterns;
};

/// True when one pattern matches `path` (as git's last_matching_pattern
/// would consider it; negation is not applied here).
bool pattern_matches(const IgnorePattern& pattern, std::string_view path, bool is_dir);

} // namespace tccp::sync
