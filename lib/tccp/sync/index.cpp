#include "tccp/sync/index.hpp"

#include <charconv>
#include <chrono>
#include <string>
#include <system_error>

#include "tccp/sync/manifest.hpp"
#include "tccp/sync/rewrite.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view header = "tccp-index 2 ";
constexpr std::string_view any_header = "tccp-index ";
// Timestamps closer than this to the moment of hashing are not trusted: the
// file may have changed again within the same clock tick.
constexpr std::int64_t racy_window_ns = 2'000'000'000;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename T> bool parse_number(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

struct Record {
  std::string_view escaped; ///< valid until the next record is read
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
  Sha256Digest sha{};
  std::uint64_t start = 0; ///< where its line is in the file
  std::uint64_t end = 0;
};

void append_number(std::string& out, auto n) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}
} // namespace

// The stored records, read one at a time, in order.
class IndexPass::Reader {
public:
  explicit Reader(const fs::path& file) : m_in(file) {
    if (!m_in.is_open()) {
      return; // no index yet
    }
    std::string_view line;
    bool terminated = false;
    if (!m_in.next(&line, &terminated) || !terminated || !util::starts_with(line, any_header)) {
      m_corrupt = true;
      return;
    }
    if (!util::starts_with(line, header)) {
      return; // another format: as good as absent
    }
    if (!parse_number(line.substr(header.size()), &m_stamp_ns)) {
      m_corrupt = true;
      return;
    }
    m_body = m_in.offset();
    m_usable = true;
    advance();
  }

  /// The current record, or null past the last one (or the damage).
  const Record* current() const { return m_have ? &m_record : nullptr; }

  void advance() {
    m_have = false;
    if (!m_usable) {
      return;
    }
    std::string_view line;
    bool terminated = false;
    if (!m_in.next(&line, &terminated)) {
      m_at_end = true;
      return;
    }
    if (!terminated || !parse(line)) {
      m_corrupt = true;
      m_usable = false;
      return;
    }
    m_record.start = m_in.line_offset();
    m_record.end = m_in.offset();
    m_have = true;
  }

  /// Where the records start; nullopt when there are none to keep.
  std::optional<std::uint64_t> body() const {
    return m_usable ? std::optional(m_body) : std::nullopt;
  }
  /// Every record was read, and well-formed.
  bool read_whole() const { return m_at_end && !m_corrupt; }
  bool corrupt() const { return m_corrupt; }
  std::int64_t stamp_ns() const { return m_stamp_ns; }

private:
  bool parse(std::string_view line) {
    std::string_view f[6];
    std::size_t n = 0;
    std::size_t pos = 0;
    for (; n < 5; ++n) {
      std::size_t tab = line.find('\t', pos);
      if (tab == std::string_view::npos) {
        return false;
      }
      f[n] = line.substr(pos, tab - pos);
      pos = tab + 1;
    }
    f[5] = line.substr(pos);
    Record r;
    if (f[0].empty() || !parse_number(f[1], &r.size) || !parse_number(f[2], &r.mtime_ns) ||
        !parse_number(f[3], &r.ctime_ns) || !parse_number(f[4], &r.inode) ||
        !from_hex(f[5], &r.sha)) {
      return false;
    }
    // Strictly ascending, as written: anything else is damage.
    if (!m_prev.empty() && !(m_prev < f[0])) {
      return false;
    }
    m_prev.assign(f[0]);
    r.escaped = m_prev;
    m_record = r;
    return true;
  }

  util::LineReader m_in;
  Record m_record;
  std::string m_prev; ///< the current record's escaped path
  std::uint64_t m_body = 0;
  std::int64_t m_stamp_ns = 0;
  bool m_usable = false;
  bool m_have = false;
  bool m_at_end = false;
  bool m_corrupt = false;
};

IndexPass::IndexPass(fs::path file, fs::path root)
    : m_file(std::move(file)), m_root(std::move(root)), m_old(std::make_unique<Reader>(m_file)),
      m_stamp_ns(now_ns()) {
  std::string head(header);
  head += std::to_string(m_stamp_ns);
  head += '\n';
  m_new = std::make_unique<LineRewrite>(m_file, std::move(head), m_old->body());
}

IndexPass::~IndexPass() = default;

Sha256Digest IndexPass::hash(std::string_view escaped, const Entry& entry) {
  if (entry.kind == EntryKind::symlink) {
    return sha256(entry.link_target); // links are not indexed
  }
  while (m_old->current() != nullptr && m_old->current()->escaped < escaped) {
    m_dropped = true; // a record of a file gone
    m_old->advance();
  }
  std::optional<Sha256Digest> sha;
  if (const Record* r = m_old->current(); r != nullptr && r->escaped == escaped) {
    bool same = r->size == entry.size && r->mtime_ns == entry.mtime_ns &&
                r->ctime_ns == entry.ctime_ns && r->inode == entry.inode;
    bool racy = entry.mtime_ns + racy_window_ns >= m_old->stamp_ns();
    if (same && !racy) {
      sha = r->sha;
      ++m_stats.files_reused;
      bool kept = m_new->keep(r->start, r->end);
      m_old->advance();
      if (kept) {
        return *sha;
      }
    } else {
      m_old->advance();
    }
  }
  if (!sha) {
    std::uint64_t n = 0;
    sha = sha256_file(m_root / entry.path, &n);
    ++m_stats.files_hashed;
    m_stats.bytes_hashed += n;
  }
  std::string line(escaped);
  auto field = [&](auto n) {
    line += '\t';
    append_number(line, n);
  };
  field(entry.size);
  field(entry.mtime_ns);
  field(entry.ctime_ns);
  field(entry.inode);
  line += '\t';
  line += to_hex(*sha);
  line += '\n';
  m_new->write(line);
  return *sha;
}

IndexStats IndexPass::finish() {
  while (m_old->current() != nullptr) {
    m_dropped = true; // records of files gone, after the last file
    m_old->advance();
  }
  // Kept whole when every record was reused as it is and none is gone: the
  // file and its stamp, which still tells when those hashes were taken.
  bool unchanged = m_new->clean() && !m_dropped && m_old->read_whole();
  if (m_old->corrupt()) {
    m_stats.corrupt = true;
    std::error_code ec;
    fs::rename(m_file, m_file.string() + ".corrupt", ec);
  }
  if (!unchanged) {
    m_new->commit();
  }
  return m_stats;
}

} // namespace tccp::sync
