#include "tccp/sync/index.hpp"

#include <chrono>
#include <system_error>

#include "tccp/core/error.hpp"
#include "tccp/sync/hash.hpp"
#include "tccp/sync/manifest.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace {
constexpr std::string_view header = "tccp-index 1 ";
// Timestamps closer than this to the moment of hashing are not trusted: the
// file may have changed again within the same clock tick.
constexpr std::int64_t racy_window_ns = 2'000'000'000;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool parse_record(std::string_view line, std::string* key, Index::Record* r) {
  auto fields = util::split(line, '\t');
  if (fields.size() != 6 || fields[5].size() != 64) {
    return false;
  }
  try {
    *key = unescape_path(fields[0]);
    r->size = std::stoull(fields[1]);
    r->mtime_ns = std::stoll(fields[2]);
    r->ctime_ns = std::stoll(fields[3]);
    r->inode = std::stoull(fields[4]);
  } catch (const std::exception&) {
    return false;
  }
  r->sha = fields[5];
  return true;
}
} // namespace

Index Index::load(const std::filesystem::path& file, bool* corrupt_out) {
  Index idx;
  idx.m_stamp_ns = now_ns();
  auto text = util::read_file_if_exists(file);
  if (!text) {
    return idx;
  }
  bool ok = util::starts_with(*text, header);
  std::size_t pos = 0;
  if (ok) {
    std::size_t nl = text->find('\n');
    ok = nl != std::string::npos;
    if (ok) {
      try {
        idx.m_old_stamp_ns = std::stoll(text->substr(header.size(), nl - header.size()));
      } catch (const std::exception&) {
        ok = false;
      }
      pos = nl + 1;
    }
  }
  while (ok && pos < text->size()) {
    std::size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) {
      ok = false;
      break;
    }
    std::string key;
    Record r;
    ok = parse_record(std::string_view(*text).substr(pos, nl - pos), &key, &r);
    idx.m_old.emplace(std::move(key), std::move(r));
    pos = nl + 1;
  }
  if (!ok) {
    std::error_code ec;
    std::filesystem::rename(file, file.string() + ".corrupt", ec);
    idx.m_old.clear();
    if (corrupt_out != nullptr) {
      *corrupt_out = true;
    }
  }
  idx.m_loaded = ok;
  return idx;
}

void Index::save(const std::filesystem::path& file) {
  // Unchanged since loaded (every record reused, none gone): keep the file,
  // and its stamp, which still tells when those hashes were taken.
  bool unchanged = m_loaded && m_hashed == 0 && m_new.size() == m_old.size();
  if (unchanged || m_saved) {
    return;
  }
  m_saved = true;
  std::string out(header);
  out += std::to_string(m_stamp_ns);
  out += '\n';
  for (const auto& [key, r] : m_new) {
    out += escape_path(key);
    out += '\t' + std::to_string(r.size) + '\t' + std::to_string(r.mtime_ns) + '\t' +
           std::to_string(r.ctime_ns) + '\t' + std::to_string(r.inode) + '\t' + r.sha + '\n';
  }
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  util::atomic_write_file(file, out, 0600);
}

std::string Index::hash(const std::filesystem::path& root, const std::string& key,
                        const Entry& entry) {
  if (entry.kind == EntryKind::symlink) {
    return sha256_hex(entry.link_target);
  }
  auto it = m_old.find(key);
  if (it != m_old.end()) {
    const Record& r = it->second;
    bool same = r.size == entry.size && r.mtime_ns == entry.mtime_ns &&
                r.ctime_ns == entry.ctime_ns && r.inode == entry.inode;
    bool racy = entry.mtime_ns + racy_window_ns >= m_old_stamp_ns;
    if (same && !racy) {
      ++m_reused;
      if (m_new.emplace(key, r).second) {
        m_saved = false;
      }
      return r.sha;
    }
  }
  std::uint64_t n = 0;
  std::string sha = sha256_file(root / entry.path, &n);
  ++m_hashed;
  m_bytes_hashed += n;
  record(key, entry, sha);
  return sha;
}

void Index::retain(const std::string& prefix) {
  for (const auto& [key, r] : m_old) {
    if (util::starts_with(key, prefix) && m_new.count(key) == 0) {
      m_new[key] = r;
      m_saved = false;
    }
  }
}

void Index::record(const std::string& key, const Entry& entry, const std::string& sha) {
  m_saved = false;
  Record r;
  r.size = entry.size;
  r.mtime_ns = entry.mtime_ns;
  r.ctime_ns = entry.ctime_ns;
  r.inode = entry.inode;
  r.sha = sha;
  m_new[key] = std::move(r);
}

} // namespace tccp::sync
