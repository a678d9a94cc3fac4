#include "tccp/util/fs.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace tccp::util {

namespace {
[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " '" + path.string() + "'");
}

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}
} // namespace

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw_errno("cannot read", path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::nullopt;
  }
  return read_file(path);
}

void atomic_write_file(const std::filesystem::path& path, std::string_view contents,
                       unsigned mode) {
  AtomicFileWriter out(path, mode);
  out.write(contents);
  out.commit();
}

namespace {
// A temp file's name template, beside `path`.
std::string temp_template(const std::filesystem::path& path) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  return (dir / ("." + path.filename().string() + ".XXXXXX")).string();
}
} // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path, unsigned mode)
    : m_path(std::move(path)), m_tmp(temp_template(m_path)), m_mode(mode),
      m_fd(::mkstemp(m_tmp.data())) {
  if (m_fd < 0) {
    throw_errno("cannot create a temp file for", m_path);
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (m_fd >= 0) {
    ::close(m_fd);
    ::unlink(m_tmp.c_str());
  }
}

void AtomicFileWriter::write(std::string_view bytes) {
  constexpr std::size_t chunk = std::size_t{1} << 16;
  if (m_buf.size() + bytes.size() > chunk) {
    flush();
  }
  if (bytes.size() >= chunk) {
    write_all(m_fd, bytes, m_path);
  } else {
    m_buf += bytes;
  }
}

void AtomicFileWriter::flush() {
  write_all(m_fd, m_buf, m_path);
  m_buf.clear();
}

void AtomicFileWriter::write_at(std::uint64_t offset, std::string_view bytes) {
  flush();
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(m_fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw_errno("cannot write", m_path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

void AtomicFileWriter::commit() {
  flush();
  if (::fchmod(m_fd, m_mode) != 0 || ::fsync(m_fd) != 0) {
    throw_errno("cannot write", m_path);
  }
  ::close(m_fd);
  m_fd = -1;
  if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
    int saved = errno;
    ::unlink(m_tmp.c_str());
    errno = saved;
    throw_errno("cannot replace", m_path);
  }
  auto dir = m_path.parent_path().empty() ? std::filesystem::path(".") : m_path.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

LineReader::LineReader(const std::filesystem::path& path)
    : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), m_path(path) {
  if (m_fd < 0 && errno != ENOENT) {
    throw_errno("cannot read", path);
  }
}

LineReader::~LineReader() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

bool LineReader::next(std::string_view* line, bool* terminated) {
  if (m_fd < 0) {
    return false;
  }
  constexpr std::size_t chunk = std::size_t{1} << 16;
  std::size_t scan_from = m_pos;
  for (;;) {
    std::size_t nl = m_buf.find('\n', scan_from);
    if (nl != std::string::npos) {
      *line = std::string_view(m_buf).substr(m_pos, nl - m_pos);
      *terminated = true;
      m_line_offset = m_buf_offset + m_pos;
      m_pos = nl + 1;
      return true;
    }
    if (m_eof) {
      if (m_pos == m_buf.size()) {
        return false;
      }
      *line = std::string_view(m_buf).substr(m_pos);
      *terminated = false;
      m_line_offset = m_buf_offset + m_pos;
      m_pos = m_buf.size();
      return true;
    }
    // Keep the unread part, then read more after it.
    m_buf.erase(0, m_pos);
    m_buf_offset += m_pos;
    m_pos = 0;
    scan_from = m_buf.size();
    std::size_t have = m_buf.size();
    m_buf.resize(have + chunk);
    ssize_t n;
    do {
      n = ::read(m_fd, m_buf.data() + have, chunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      m_buf.resize(have);
      throw_errno("cannot read", m_path);
    }
    m_buf.resize(have + static_cast<std::size_t>(n));
    m_eof = n == 0;
  }
}

void ensure_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw_errno("cannot create directory", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    throw_errno("not a directory:", dir);
  }
  if (st.st_uid != ::getuid()) {
    errno = EPERM;
    throw_errno("directory owned by another user:", dir);
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    throw_errno("cannot chmod", dir);
  }
}

std::filesystem::path home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return "/";
}

TempDir::TempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
                     std::string(prefix) + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw_errno("cannot create temp directory", tmpl);
  }
  m_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

} // namespace tccp::util
