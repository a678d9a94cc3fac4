#pragma once
/// The local index of a tree: for each file, the metadata it had when it was
/// last hashed (size, mtime, ctime, inode) and its content hash, so a file
/// whose metadata did not change is not read again. One file per tree under
/// $TCCP_HOME:
///     tccp-index 2 <when the hashes were taken, ns>
///     <escaped path> TAB size TAB mtime_ns TAB ctime_ns TAB inode TAB sha256
/// with the lines in manifest order, the order in which the tree is walked:
/// it is read beside the walk a line at a time, and rewritten (atomically)
/// only when a record changed. No part of it is held in memory.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "tccp/sync/hash.hpp"
#include "tccp/sync/scan.hpp"

namespace tccp::sync {

class LineRewrite;

/// What one pass over the index did.
struct IndexStats {
  std::size_t files_hashed = 0;
  std::size_t files_reused = 0;
  std::uint64_t bytes_hashed = 0;
  bool corrupt = false; ///< the index was damaged (and set aside)
};

/// One walk of a tree against its index.
class IndexPass {
public:
  /// Opens the index `file` of the tree at `root`. An absent index, or one in
  /// another format (an older tccp's), has no records.
  IndexPass(std::filesystem::path file, std::filesystem::path root);
  ~IndexPass();
  IndexPass(const IndexPass&) = delete;
  IndexPass& operator=(const IndexPass&) = delete;

  /// The content hash of the file or symlink `entry`, whose path escaped is
  /// `escaped`; entries come in manifest order. A file's stored hash is
  /// reused when size, mtime, ctime and inode are unchanged and it was not
  /// modified within the clock granularity of the last hash ("racily clean"
  /// files are hashed again, as git does); other files are read.
  Sha256Digest hash(std::string_view escaped, const Entry& entry);

  /// After the last entry: writes the index when its records changed. A
  /// damaged index is moved aside to `file.corrupt`; its records from the
  /// damage on were not trusted (those files were simply hashed again).
  IndexStats finish();

private:
  class Reader;
  std::filesystem::path m_file;
  std::filesystem::path m_root;
  std::unique_ptr<Reader> m_old;
  std::unique_ptr<LineRewrite> m_new;
  IndexStats m_stats;
  std::int64_t m_stamp_ns = 0;
  bool m_dropped = false; ///< a record of a file gone was left out
};

} // namespace tccp::sync
