#include "tccp/sync/manifest.hpp"

#include <algorithm>

#include "tccp/core/error.hpp"
#include "tccp/sync/hash.hpp"

namespace tccp::sync {

namespace {
bool needs_escape(unsigned char u) {
  return u < 0x20 || u == 0x7f || u == '\\';
}

constexpr char hex_digits[] = "0123456789abcdef";

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
} // namespace

void append_escaped(std::string& out, std::string_view path) {
  std::size_t plain = 0; // start of the run of bytes kept as they are
  for (std::size_t i = 0; i < path.size(); ++i) {
    auto u = static_cast<unsigned char>(path[i]);
    if (needs_escape(u)) {
      out.append(path.substr(plain, i - plain));
      const char esc[] = {'\\', 'x', hex_digits[u >> 4], hex_digits[u & 0xf]};
      out.append(esc, sizeof esc);
      plain = i + 1;
    }
  }
  out.append(path.substr(plain));
}

std::string escape_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  append_escaped(out, path);
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool valid_kind(char c) {
  return c == 'f' || c == 'x' || c == 's' || c == 'l' || c == 'd';
}
} // namespace

std::string unescape_path(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out += escaped[i];
      continue;
    }
    if (i + 3 >= escaped.size() || escaped[i + 1] != 'x') {
      throw Error(ExitCode::protocol, "malformed path escape in a manifest");
    }
    int hi = hex_value(escaped[i + 2]);
    int lo = hex_value(escaped[i + 3]);
    if (hi < 0 || lo < 0) {
      throw Error(ExitCode::protocol, "malformed path escape in a manifest");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 3;
  }
  return out;
}

bool manifest_less(std::string_view a, std::string_view b) {
  auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (ib == b.end()) {
    return false; // b is a prefix of a, or equal to it
  }
  if (ia == a.end()) {
    return true;
  }
  // Compare the escaped forms of the first differing bytes: an escaped byte
  // reads as a backslash, and two escaped bytes compare as their hex does,
  // that is by value.
  auto x = static_cast<unsigned char>(*ia);
  auto y = static_cast<unsigned char>(*ib);
  unsigned rx = needs_escape(x) ? '\\' : x;
  unsigned ry = needs_escape(y) ? '\\' : y;
  return rx != ry ? rx < ry : x < y;
}

void append_manifest_line(std::string& out, std::string_view path, EntryKind kind,
                          const Sha256Digest& sha) {
  append_escaped(out, path);
  const char fields[] = {'\t', static_cast<char>(kind), '\t'};
  out.append(fields, sizeof fields);
  if (kind == EntryKind::directory) {
    out += '-';
    return;
  }
  char hex[2 * std::tuple_size_v<Sha256Digest>];
  for (std::size_t i = 0; i < sha.size(); ++i) {
    hex[2 * i] = hex_digits[sha[i] >> 4];
    hex[2 * i + 1] = hex_digits[sha[i] & 0xf];
  }
  out.append(hex, sizeof hex);
}

bool is_manifest_line(std::string_view l) {
  std::size_t t1 = l.find('\t');
  if (t1 == std::string_view::npos || t1 == 0 || t1 + 2 >= l.size() || l[t1 + 2] != '\t' ||
      !valid_kind(l[t1 + 1])) {
    return false;
  }
  std::string_view sha = l.substr(t1 + 3);
  if (static_cast<EntryKind>(l[t1 + 1]) == EntryKind::directory) {
    return sha == "-";
  }
  return sha.size() == 2 * std::tuple_size_v<Sha256Digest> && lower_hex(sha);
}

} // namespace tccp::sync
