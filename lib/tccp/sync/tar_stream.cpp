#include "tccp/sync/tar_stream.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "tccp/core/error.hpp"
#include "tccp/sync/hash.hpp"

namespace tccp::sync {

struct TarWriter::Impl {
  archive* a = nullptr;
  bool finished = false;
  bool discard = false;            ///< set while abandoning: nothing more goes out
  std::exception_ptr output_error; ///< what the output threw (not let through C code)
  std::vector<char> buf;           ///< file contents on their way, reused
};

struct TarCallbacks {
  static la_ssize_t write(archive* /*a*/, void* client, const void* buf, size_t len) {
    auto* self = static_cast<TarWriter*>(client);
    if (self->m_impl->discard) {
      return static_cast<la_ssize_t>(len);
    }
    // An exception must not unwind through libarchive: keep it, report a
    // write error, and rethrow it once libarchive has returned.
    try {
      self->m_output(std::string_view(static_cast<const char*>(buf), len));
    } catch (...) {
      self->m_impl->output_error = std::current_exception();
      return -1;
    }
    self->m_bytes_out += len;
    return static_cast<la_ssize_t>(len);
  }
};

namespace {
[[noreturn]] void fail(archive* a, const std::string& what,
                       const std::exception_ptr& cause = nullptr) {
  if (cause) {
    std::rethrow_exception(cause);
  }
  const char* msg = archive_error_string(a);
  throw Error(ExitCode::internal, what + ": " + (msg != nullptr ? msg : "unknown error"));
}

struct EntryPtr {
  archive_entry* e;
  explicit EntryPtr(archive* a) : e(archive_entry_new2(a)) {}
  ~EntryPtr() { archive_entry_free(e); }
  EntryPtr(const EntryPtr&) = delete;
  EntryPtr& operator=(const EntryPtr&) = delete;
};
} // namespace

TarWriter::TarWriter(Output output)
    : m_impl(std::make_unique<Impl>()), m_output(std::move(output)) {
  m_impl->a = archive_write_new();
  archive* a = m_impl->a;
  if (archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a, 64 * 1024) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
    fail(a, "cannot set up the tar writer");
  }
  if (archive_write_open(a, this, nullptr, &TarCallbacks::write, nullptr) != ARCHIVE_OK) {
    fail(a, "cannot open the tar stream", m_impl->output_error);
  }
}

TarWriter::~TarWriter() {
  // An unfinished stream is abandoned: freeing would close it and emit the
  // end blocks, so the output is cut first (the remote side sees a stream
  // without its end marker and discards it).
  m_impl->discard = !m_impl->finished;
  archive_write_free(m_impl->a);
}

void TarWriter::add_bytes(const std::string& name, std::string_view data, unsigned mode) {
  EntryPtr e(m_impl->a);
  archive_entry_set_pathname(e.e, name.c_str());
  archive_entry_set_filetype(e.e, AE_IFREG);
  archive_entry_set_perm(e.e, mode);
  archive_entry_set_size(e.e, static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(e.e, 0, 0);
  if (archive_write_header(m_impl->a, e.e) != ARCHIVE_OK) {
    fail(m_impl->a, "cannot write a tar header", m_impl->output_error);
  }
  if (!data.empty() && archive_write_data(m_impl->a, data.data(), data.size()) < 0) {
    fail(m_impl->a, "cannot write tar data", m_impl->output_error);
  }
}

Sha256Digest TarWriter::add_file(const std::string& name, const std::filesystem::path& source,
                                 unsigned mode, std::int64_t mtime_s,
                                 const std::function<void(std::uint64_t)>& on_bytes) {
  int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw Error(ExitCode::failed, "cannot read '" + source.string() + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ExitCode::failed, "'" + source.string() + "' is no longer a regular file");
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  EntryPtr e(m_impl->a);
  archive_entry_set_pathname(e.e, name.c_str());
  archive_entry_set_filetype(e.e, AE_IFREG);
  archive_entry_set_perm(e.e, mode);
  archive_entry_set_size(e.e, static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e.e, mtime_s, 0);
  if (archive_write_header(m_impl->a, e.e) != ARCHIVE_OK) {
    ::close(fd);
    fail(m_impl->a, "cannot write a tar header", m_impl->output_error);
  }
  Sha256 h;
  std::vector<char>& buf = m_impl->buf;
  if (buf.empty()) {
    buf.resize(std::size_t{256} * 1024);
  }
  std::uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf.data(), std::min<std::uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(ExitCode::failed, "cannot read '" + source.string() + "': " + std::strerror(err));
    }
    if (n == 0) {
      // The file shrank: pad so the archive stays well-formed; the hash
      // tells the caller the content is not what it announced.
      std::fill(buf.begin(), buf.end(), '\0');
      n = static_cast<ssize_t>(std::min<std::uint64_t>(buf.size(), left));
      h.update("\x01shrunk");
    }
    auto len = static_cast<std::size_t>(n);
    h.update(std::string_view(buf.data(), len));
    if (archive_write_data(m_impl->a, buf.data(), len) < 0) {
      ::close(fd);
      fail(m_impl->a, "cannot write tar data", m_impl->output_error);
    }
    left -= len;
    if (on_bytes) {
      on_bytes(len);
    }
  }
  ::close(fd);
  return h.digest();
}

void TarWriter::add_symlink(const std::string& name, const std::string& target) {
  EntryPtr e(m_impl->a);
  archive_entry_set_pathname(e.e, name.c_str());
  archive_entry_set_filetype(e.e, AE_IFLNK);
  archive_entry_set_perm(e.e, 0777);
  archive_entry_set_symlink(e.e, target.c_str());
  archive_entry_set_mtime(e.e, 0, 0);
  if (archive_write_header(m_impl->a, e.e) != ARCHIVE_OK) {
    fail(m_impl->a, "cannot write a tar header", m_impl->output_error);
  }
}

void TarWriter::add_directory(const std::string& name, unsigned mode) {
  EntryPtr e(m_impl->a);
  archive_entry_set_pathname(e.e, name.c_str());
  archive_entry_set_filetype(e.e, AE_IFDIR);
  archive_entry_set_perm(e.e, mode);
  archive_entry_set_mtime(e.e, 0, 0);
  if (archive_write_header(m_impl->a, e.e) != ARCHIVE_OK) {
    fail(m_impl->a, "cannot write a tar header", m_impl->output_error);
  }
}

void TarWriter::finish() {
  if (archive_write_close(m_impl->a) != ARCHIVE_OK) {
    fail(m_impl->a, "cannot finish the tar stream", m_impl->output_error);
  }
  m_impl->finished = true;
}

} // namespace tccp::sync
