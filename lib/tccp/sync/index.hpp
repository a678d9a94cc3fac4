#pragma once
/// The local index: for each synced path, the metadata it had when it was
/// last hashed (size, mtime, ctime, inode) and its content hash, so a file
/// whose metadata did not change is not read again. Stored per project under
/// $TCCP_HOME and written atomically.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "tccp/sync/scan.hpp"

namespace tccp::sync {

class Index {
public:
  struct Record {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::uint64_t inode = 0;
    std::string sha;
  };

  /// Loads `file`; an absent file is an empty index. A corrupt one is moved
  /// aside to `file.corrupt` (and `*corrupt_out` set) and the index starts
  /// empty: the files are simply hashed again.
  static Index load(const std::filesystem::path& file, bool* corrupt_out = nullptr);

  /// Writes the records of this scan atomically (0600), when they differ
  /// from what was loaded (a file hashed again, one gone or new).
  void save(const std::filesystem::path& file);

  /// The content hash of `entry` (a file or symlink under `root`, named by
  /// `key`, its path relative to the project). Reuses the stored hash when
  /// size, mtime, ctime and inode are unchanged and the file was not modified
  /// within the clock granularity of the last hash ("racily clean" files are
  /// hashed again, as git does). Records the result for save().
  std::string hash(const std::filesystem::path& root, const std::string& key, const Entry& entry);

  /// Keeps the stored records of every key starting with `prefix` as they
  /// are (for trees not scanned this time, e.g. rodata already pushed).
  void retain(const std::string& prefix);

  /// Records `sha` for an entry hashed elsewhere (while streaming).
  void record(const std::string& key, const Entry& entry, const std::string& sha);

  std::size_t files_hashed() const { return m_hashed; }
  std::size_t files_reused() const { return m_reused; }
  std::uint64_t bytes_hashed() const { return m_bytes_hashed; }

private:
  std::unordered_map<std::string, Record> m_old;
  std::unordered_map<std::string, Record> m_new;
  std::int64_t m_old_stamp_ns = 0; ///< when the stored hashes were taken
  std::int64_t m_stamp_ns = 0;     ///< when this scan started
  std::size_t m_hashed = 0;
  std::size_t m_reused = 0;
  std::uint64_t m_bytes_hashed = 0;
  bool m_loaded = false; ///< the file existed and was read whole
  bool m_saved = false;  ///< nothing recorded since the last save
};

} // namespace tccp::sync
