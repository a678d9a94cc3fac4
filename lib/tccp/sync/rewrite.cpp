#include "tccp/sync/rewrite.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

#include "tccp/core/error.hpp"

namespace tccp::sync {

LineRewrite::LineRewrite(std::filesystem::path file, std::string head,
                         std::optional<std::uint64_t> old_body)
    : m_file(std::move(file)), m_head(std::move(head)) {
  if (old_body) {
    // Opened now: the lines kept are those of the file read beside this.
    m_old_fd = ::open(m_file.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (m_old_fd >= 0) {
    m_body = *old_body;
    m_kept_end = m_body;
  } else {
    start_writing();
  }
}

LineRewrite::~LineRewrite() {
  if (m_old_fd >= 0) {
    ::close(m_old_fd);
  }
}

bool LineRewrite::keep(std::uint64_t start, std::uint64_t end) {
  if (m_out || start != m_kept_end) {
    start_writing();
    return false;
  }
  m_kept_end = end;
  return true;
}

void LineRewrite::write(std::string_view line) {
  start_writing();
  m_out->write(line);
}

void LineRewrite::patch(std::uint64_t offset, std::string_view bytes) {
  start_writing();
  m_out->write_at(offset, bytes);
}

void LineRewrite::commit() {
  start_writing();
  m_out->commit();
  m_out.reset();
}

void LineRewrite::start_writing() {
  if (m_out) {
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(m_file.parent_path(), ec);
  auto out = std::make_unique<util::AtomicFileWriter>(m_file, 0600);
  out->write(m_head);
  // The old lines kept so far come first.
  std::vector<char> buf(std::size_t{1} << 16);
  for (std::uint64_t at = m_body; at < m_kept_end;) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), m_kept_end - at));
    ssize_t n = ::pread(m_old_fd, buf.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      throw Error(ExitCode::failed, "cannot read '" + m_file.string() +
                                        "': " + (n < 0 ? std::strerror(errno) : "file shrank"));
    }
    out->write(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    at += static_cast<std::uint64_t>(n);
  }
  m_out = std::move(out);
}

} // namespace tccp::sync
