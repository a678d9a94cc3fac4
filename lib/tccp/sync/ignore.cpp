#include "tccp/sync/ignore.hpp"

#include "tccp/sync/wildmatch.hpp"

namespace tccp::sync {

namespace {

// Drops trailing spaces that are not escaped with a backslash (git's rule:
// only spaces, and "\ " keeps the space).
std::string trim_trailing_spaces(std::string_view line) {
  std::size_t keep = line.size();
  std::optional<std::size_t> first_trailing_space;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ') {
      if (!first_trailing_space) {
        first_trailing_space = i;
      }
    } else if (c == '\\') {
      ++i;
      if (i >= line.size()) {
        return std::string(line);
      }
      first_trailing_space.reset();
    } else {
      first_trailing_space.reset();
    }
  }
  if (first_trailing_space) {
    keep = *first_trailing_space;
  }
  return std::string(line.substr(0, keep));
}

std::optional<IgnorePattern> parse_line(std::string_view raw, const std::string& base) {
  if (raw.empty() || raw.front() == '#') {
    return std::nullopt;
  }
  std::string line = trim_trailing_spaces(raw);
  IgnorePattern p;
  p.base = base;
  std::string_view rest = line;
  if (!rest.empty() && rest.front() == '!') {
    p.negated = true;
    rest.remove_prefix(1);
  }
  if (!rest.empty() && rest.back() == '/') {
    p.dir_only = true;
    rest.remove_suffix(1);
  }
  p.basename = rest.find('/') == std::string_view::npos;
  p.pattern = std::string(rest);
  return p;
}

} // namespace

IgnoreList IgnoreList::parse(std::string_view text, std::string base) {
  IgnoreList list;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      // git only takes lines ended by a newline, except the last one,
      // which it reads as if one followed.
      nl = text.size();
    }
    std::string_view line = text.substr(pos, nl - pos);
    bool had_content = !line.empty();
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (had_content) {
      if (auto p = parse_line(line, base)) {
        list.m_patterns.push_back(std::move(*p));
      }
    }
    pos = nl + 1;
  }
  return list;
}

bool pattern_matches(const IgnorePattern& p, std::string_view path, bool is_dir) {
  if (p.dir_only && !is_dir) {
    return false;
  }
  if (p.basename) {
    std::size_t slash = path.rfind('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    return glob_match(p.pattern, name, GlobMode::basename);
  }
  std::string_view pattern = p.pattern;
  if (!pattern.empty() && pattern.front() == '/') {
    pattern.remove_prefix(1);
  }
  // The path must lie under the ignore file's directory.
  if (!p.base.empty()) {
    if (path.size() <= p.base.size() || path.substr(0, p.base.size()) != p.base) {
      return false;
    }
    path.remove_prefix(p.base.size());
  }
  // git compares the literal head of the pattern (up to its first glob
  // character) as plain text and globs only the rest. This is not always the
  // same as globbing the whole: "ab**/c" matches "abc", since the "**/" left
  // over starts the rest of the pattern and may stand for no directory.
  std::size_t literal = pattern.find_first_of("*?[\\");
  if (literal == std::string_view::npos) {
    literal = pattern.size();
  }
  if (literal > path.size() || pattern.substr(0, literal) != path.substr(0, literal)) {
    return false;
  }
  return glob_match(pattern.substr(literal), path.substr(literal), GlobMode::path);
}

std::optional<bool> IgnoreList::decide(std::string_view path, bool is_dir) const {
  for (auto it = m_patterns.rbegin(); it != m_patterns.rend(); ++it) {
    if (pattern_matches(*it, path, is_dir)) {
      return !it->negated;
    }
  }
  return std::nullopt;
}

} // namespace tccp::sync
