#pragma once
/// Filesystem helpers with no knowledge of tccp. Failures throw
/// std::system_error with the path in the message.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tccp::util {

/// Reads a whole file; throws std::system_error when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// Reads a whole file, or nullopt when it does not exist.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);

/// Writes `contents` to `path` atomically: a temp file in the same
/// directory, fsync, chmod to `mode`, rename, fsync of the directory. A
/// reader sees the old file or the new one, never a part.
void atomic_write_file(const std::filesystem::path& path, std::string_view contents,
                       unsigned mode = 0600);

/// A file replaced atomically, written piecewise (memory stays flat
/// whatever its size): the bytes go to a temp file beside it, which commit()
/// fsyncs, chmods and renames over it. A writer destroyed uncommitted removes
/// its temp file and leaves the file as it was.
class AtomicFileWriter {
public:
  explicit AtomicFileWriter(std::filesystem::path path, unsigned mode = 0600);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  /// Appends bytes (buffered).
  void write(std::string_view bytes);
  /// Overwrites bytes already written, at `offset`.
  void write_at(std::uint64_t offset, std::string_view bytes);
  /// Puts the file in place.
  void commit();

private:
  void flush();
  std::filesystem::path m_path;
  std::string m_tmp;
  std::string m_buf;
  unsigned m_mode;
  int m_fd = -1;
};

/// Reads a file one line at a time through a bounded buffer (a line may be
/// of any length), so a big file is never held whole.
class LineReader {
public:
  /// Opens `path`; is_open() tells whether it could be (an absent file
  /// cannot). Throws std::system_error when the file exists but is unreadable.
  explicit LineReader(const std::filesystem::path& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  bool is_open() const { return m_fd >= 0; }

  /// The next line, without its newline, valid until the next call; false at
  /// the end of the file. A last line without a newline is returned with
  /// `*terminated` false.
  bool next(std::string_view* line, bool* terminated);

  /// Where in the file the line last returned starts.
  std::uint64_t line_offset() const { return m_line_offset; }
  /// Where the unread part of the file starts (just past the last line).
  std::uint64_t offset() const { return m_buf_offset + m_pos; }

private:
  int m_fd = -1;
  std::filesystem::path m_path;
  std::string m_buf;
  std::size_t m_pos = 0;          ///< start of the unread part of m_buf
  std::uint64_t m_buf_offset = 0; ///< where m_buf starts in the file
  std::uint64_t m_line_offset = 0;
  bool m_eof = false;
};

/// Creates `dir` (and parents) and makes it 0700; throws when it exists with
/// another owner or is not a directory.
void ensure_private_dir(const std::filesystem::path& dir);

/// $HOME, falling back to the passwd entry.
std::filesystem::path home_dir();

/// A fresh temp directory (mkdtemp), removed by the destructor.
class TempDir {
public:
  explicit TempDir(std::string_view prefix = "tccp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

} // namespace tccp::util
