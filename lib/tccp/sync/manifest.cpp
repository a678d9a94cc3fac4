#include "tccp/sync/manifest.hpp"

#include <algorithm>
#include <cstdio>

#include "tccp/core/error.hpp"
#include "tccp/sync/hash.hpp"

namespace tccp::sync {

std::string escape_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
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

const ManifestItem* Manifest::find(const std::string& path) const {
  auto it = m_items.find(path);
  return it == m_items.end() ? nullptr : &it->second;
}

std::string Manifest::line(const std::string& path, const ManifestItem& item) {
  std::string l = escape_path(path);
  l += '\t';
  l += static_cast<char>(item.kind);
  l += '\t';
  l += item.sha;
  return l;
}

std::string Manifest::text() const {
  // Escaped paths have no byte below 0x20, so sorting lines equals sorting
  // escaped paths (the tab ends the shorter one first); sort once more on
  // the escaped form since escaping can reorder control bytes.
  std::vector<std::string> lines;
  lines.reserve(m_items.size());
  for (const auto& [path, item] : m_items) {
    lines.push_back(line(path, item));
  }
  // Map order is raw path order; it differs from the escaped order only
  // around escaped bytes.
  if (!std::is_sorted(lines.begin(), lines.end())) {
    std::sort(lines.begin(), lines.end());
  }
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

std::string Manifest::digest() const {
  return sha256_hex(text());
}

Manifest Manifest::parse(std::string_view text) {
  Manifest m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      throw Error(ExitCode::protocol, "manifest ends in the middle of a line");
    }
    std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    std::size_t t1 = l.find('\t');
    std::size_t t2 = t1 == std::string_view::npos ? t1 : l.find('\t', t1 + 1);
    if (t2 == std::string_view::npos || t2 != t1 + 2 || !valid_kind(l[t1 + 1]) ||
        l.find('\t', t2 + 1) != std::string_view::npos) {
      throw Error(ExitCode::protocol, "malformed manifest line");
    }
    ManifestItem item;
    item.kind = static_cast<EntryKind>(l[t1 + 1]);
    item.sha = std::string(l.substr(t2 + 1));
    m.m_items[unescape_path(l.substr(0, t1))] = std::move(item);
  }
  return m;
}

Delta diff(const Manifest& from, const Manifest& to) {
  // One walk over both sorted maps.
  Delta d;
  auto a = from.items().begin();
  auto b = to.items().begin();
  const auto a_end = from.items().end();
  const auto b_end = to.items().end();
  while (a != a_end || b != b_end) {
    if (b == b_end || (a != a_end && a->first < b->first)) {
      d.deleted.push_back(a->first);
      ++a;
    } else if (a == a_end || b->first < a->first) {
      d.send.push_back(b->first);
      ++b;
    } else {
      if (!(a->second == b->second)) {
        d.send.push_back(b->first);
        d.replaced.push_back(b->first);
      }
      ++a;
      ++b;
    }
  }
  return d;
}

} // namespace tccp::sync
