#pragma once
/// Filesystem helpers with no knowledge of tccp. Failures throw
/// std::system_error with the path in the message.
#include <filesystem>
#include <optional>
#include <string>

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
