#include "tccp/sync/preview.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace tccp::sync {

namespace {
void keep_top(std::vector<SizedPath>& items, std::size_t n) {
  std::sort(items.begin(), items.end(), [](const SizedPath& a, const SizedPath& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.path < b.path;
  });
  if (items.size() > n) {
    items.resize(n);
  }
}
} // namespace

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

void PreviewBuilder::add(std::string_view path, EntryKind kind, std::uint64_t size) {
  if (kind == EntryKind::directory) {
    return;
  }
  ++m_p.files;
  m_p.bytes += size;
  if (kind == EntryKind::secret) {
    return;
  }
  m_files.push_back({std::string(path), size, 1});
  if (m_files.size() > 4096) {
    keep_top(m_files, 5);
  }
  std::size_t slash = path.find('/');
  if (slash != std::string::npos) {
    std::string top(path.substr(0, slash));
    auto& d = m_dirs[top];
    d.path = top + "/";
    d.bytes += size;
    d.files += 1;
  }
}

Preview PreviewBuilder::finish() {
  Preview& p = m_p;
  std::vector<SizedPath>& files = m_files;
  keep_top(files, 5);
  p.largest_files = files;
  std::vector<SizedPath> dir_list;
  for (auto& [name, d] : m_dirs) {
    dir_list.push_back(d);
  }
  std::vector<SizedPath> by_count = dir_list;
  keep_top(dir_list, 5);
  p.largest_dirs = dir_list;
  bool many = p.files > big_project_files;
  bool heavy = p.bytes > big_project_bytes;
  p.big = many || heavy;
  if (p.big) {
    // The directory that weighs most in what tripped the limit.
    if (heavy && !dir_list.empty()) {
      p.suggested_ignore = "/" + dir_list.front().path;
    } else if (many && !by_count.empty()) {
      std::sort(by_count.begin(), by_count.end(),
                [](const SizedPath& a, const SizedPath& b) { return a.files > b.files; });
      p.suggested_ignore = "/" + by_count.front().path;
    } else if (!files.empty()) {
      p.suggested_ignore = "/" + files.front().path;
    }
  }
  return p;
}

Preview make_preview(const std::vector<Entry>& entries) {
  PreviewBuilder b;
  for (const auto& e : entries) {
    b.add(e.path, e.kind, e.size);
  }
  return b.finish();
}

std::vector<std::string> format_preview(const Preview& p) {
  std::vector<std::string> lines;
  lines.push_back("first push of this project: " + std::to_string(p.files) + " files, " +
                  human_bytes(p.bytes));
  if (!p.largest_dirs.empty()) {
    lines.emplace_back("  largest directories:");
    for (const auto& d : p.largest_dirs) {
      lines.push_back("    " + human_bytes(d.bytes) + "  " + d.path + " (" +
                      std::to_string(d.files) + " files)");
    }
  }
  if (!p.largest_files.empty()) {
    lines.emplace_back("  largest files:");
    for (const auto& f : p.largest_files) {
      lines.push_back("    " + human_bytes(f.bytes) + "  " + f.path);
    }
  }
  return lines;
}

} // namespace tccp::sync
