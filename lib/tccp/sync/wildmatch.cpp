#include "tccp/sync/wildmatch.hpp"

#include <cctype>

namespace tccp::sync {

namespace {

// Outcomes of matching a pattern suffix against a text suffix. Besides a
// plain "no", two verdicts prune the search the way git does: `never` when
// the text ran out (no later split can do better) or the pattern is
// malformed, and `retry_wider` when a single `*` hit a `/` it may not cross
// (only an enclosing `**` can still help).
enum class Result { match, no, never, retry_wider };

struct Matcher {
  std::string_view pat;
  std::string_view text;
  bool path_mode;

  char pat_at(std::size_t i) const { return i < pat.size() ? pat[i] : '\0'; }

  static bool is_special(char c) { return c == '*' || c == '?' || c == '[' || c == '\\'; }

  static bool named_class(std::string_view name, unsigned char c, bool* known) {
    *known = true;
    if (name == "alnum")
      return std::isalnum(c) != 0;
    if (name == "alpha")
      return std::isalpha(c) != 0;
    if (name == "blank")
      return c == ' ' || c == '\t';
    if (name == "cntrl")
      return std::iscntrl(c) != 0;
    if (name == "digit")
      return std::isdigit(c) != 0;
    if (name == "graph")
      return std::isgraph(c) != 0;
    if (name == "lower")
      return std::islower(c) != 0;
    if (name == "print")
      return std::isprint(c) != 0;
    if (name == "punct")
      return std::ispunct(c) != 0;
    if (name == "space")
      return std::isspace(c) != 0;
    if (name == "upper")
      return std::isupper(c) != 0;
    if (name == "xdigit")
      return std::isxdigit(c) != 0;
    *known = false;
    return false;
  }

  // Matches the class starting at pat[p] == '[' against `c`; on return
  // *end is the index just past the closing ']'.
  Result match_class(std::size_t p, unsigned char c, std::size_t* end) const {
    std::size_t i = p + 1;
    bool negated = false;
    if (pat_at(i) == '!' || pat_at(i) == '^') {
      negated = true;
      ++i;
    }
    bool matched = false;
    unsigned char prev = 0; // the previous single character, for ranges
    bool first = true;
    for (;;) {
      char pc = pat_at(i);
      if (i >= pat.size()) {
        return Result::never; // unterminated class
      }
      if (pc == ']' && !first) {
        break;
      }
      first = false;
      if (pc == '\\') {
        ++i;
        if (i >= pat.size()) {
          return Result::never;
        }
        prev = static_cast<unsigned char>(pat[i]);
        matched = matched || c == prev;
        ++i;
        continue;
      }
      if (pc == '-' && prev != 0 && i + 1 < pat.size() && pat[i + 1] != ']') {
        ++i;
        if (pat[i] == '\\') {
          ++i;
          if (i >= pat.size()) {
            return Result::never;
          }
        }
        auto hi = static_cast<unsigned char>(pat[i]);
        matched = matched || (c >= prev && c <= hi);
        prev = 0;
        ++i;
        continue;
      }
      if (pc == '[' && pat_at(i + 1) == ':') {
        std::size_t name_begin = i + 2;
        std::size_t j = name_begin;
        while (j < pat.size() && pat[j] != ']') {
          ++j;
        }
        if (j >= pat.size()) {
          return Result::never;
        }
        if (j == name_begin || pat[j - 1] != ':') {
          // No ":]": the '[' is an ordinary member.
          prev = '[';
          matched = matched || c == '[';
          ++i;
          continue;
        }
        bool known = false;
        bool hit = named_class(pat.substr(name_begin, j - 1 - name_begin), c, &known);
        if (!known) {
          return Result::never;
        }
        matched = matched || hit;
        prev = 0;
        i = j + 1;
        continue;
      }
      prev = static_cast<unsigned char>(pc);
      matched = matched || c == prev;
      ++i;
    }
    *end = i + 1;
    if (matched == negated || (path_mode && c == '/')) {
      return Result::no;
    }
    return Result::match;
  }

  Result match(std::size_t p, std::size_t t) const {
    while (p < pat.size()) {
      char pc = pat[p];
      if (t >= text.size() && pc != '*') {
        return Result::never;
      }
      unsigned char tc = t < text.size() ? static_cast<unsigned char>(text[t]) : 0;
      switch (pc) {
      case '\\':
        // A trailing backslash matches nothing.
        if (p + 1 >= pat.size() || static_cast<unsigned char>(pat[p + 1]) != tc) {
          return Result::no;
        }
        p += 2;
        ++t;
        continue;
      case '?':
        if (path_mode && tc == '/') {
          return Result::no;
        }
        ++p;
        ++t;
        continue;
      case '[': {
        std::size_t end = 0;
        Result r = match_class(p, tc, &end);
        if (r != Result::match) {
          return r;
        }
        p = end;
        ++t;
        continue;
      }
      case '*': return match_star(p, t);
      default:
        if (static_cast<unsigned char>(pc) != tc) {
          return Result::no;
        }
        ++p;
        ++t;
        continue;
      }
    }
    return t == text.size() ? Result::match : Result::no;
  }

  Result match_star(std::size_t p, std::size_t t) const {
    std::size_t star_begin = p;
    while (p < pat.size() && pat[p] == '*') {
      ++p;
    }
    bool crosses_slash = !path_mode;
    if (path_mode && p - star_begin >= 2) {
      bool at_segment_start = star_begin == 0 || pat[star_begin - 1] == '/';
      bool at_segment_end =
          p == pat.size() || pat[p] == '/' || (pat[p] == '\\' && pat_at(p + 1) == '/');
      if (at_segment_start && at_segment_end) {
        // "**/" may also stand for no directory at all.
        if (pat_at(p) == '/' && match(p + 1, t) == Result::match) {
          return Result::match;
        }
        crosses_slash = true;
      }
    }
    if (p == pat.size()) {
      if (!crosses_slash && text.find('/', t) != std::string_view::npos) {
        return Result::no;
      }
      return Result::match;
    }
    if (!crosses_slash && pat[p] == '/') {
      // "*/" consumes exactly the rest of this path segment.
      std::size_t slash = text.find('/', t);
      if (slash == std::string_view::npos) {
        return Result::no;
      }
      return match(p, slash);
    }
    for (; t <= text.size(); ++t) {
      if (t == text.size()) {
        break;
      }
      if (!is_special(pat[p])) {
        // Skip ahead to where the literal after the star can match.
        while (t < text.size() && (crosses_slash || text[t] != '/') && text[t] != pat[p]) {
          ++t;
        }
        if (t >= text.size() || text[t] != pat[p]) {
          return Result::no;
        }
      }
      Result r = match(p, t);
      if (r != Result::no) {
        if (!crosses_slash || r != Result::retry_wider) {
          return r;
        }
      } else if (!crosses_slash && text[t] == '/') {
        return Result::retry_wider;
      }
    }
    return Result::never;
  }
};

} // namespace

bool glob_match(std::string_view pattern, std::string_view text, GlobMode mode) {
  Matcher m{pattern, text, mode == GlobMode::path};
  return m.match(0, 0) == Result::match;
}

} // namespace tccp::sync
