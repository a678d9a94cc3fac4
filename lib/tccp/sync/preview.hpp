#pragma once
/// What a first push is about to send, for people to check before it goes:
/// counts, the largest files and directories, and a warning with a line to
/// ignore when the project is unexpectedly big.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tccp/sync/scan.hpp"

namespace tccp::sync {

/// Above either limit (outside rodata) a push warns.
inline constexpr std::size_t big_project_files = 10000;
inline constexpr std::uint64_t big_project_bytes = 1ULL << 30;

struct SizedPath {
  std::string path;
  std::uint64_t bytes = 0;
  std::size_t files = 0;
};

struct Preview {
  std::size_t files = 0; ///< files and symlinks
  std::uint64_t bytes = 0;
  std::vector<SizedPath> largest_files; ///< at most 5; never the env file
  std::vector<SizedPath> largest_dirs;  ///< at most 5 top-level directories
  bool big = false;                     ///< over big_project_files or big_project_bytes
  std::string suggested_ignore;         ///< a .tccpignore line (e.g. "/data/") when big
};

/// Builds a preview from the paths of a scan, given one at a time; holds the
/// few largest, not every path.
class PreviewBuilder {
public:
  void add(std::string_view path, EntryKind kind, std::uint64_t size);
  Preview finish();

private:
  Preview m_p;
  std::map<std::string, SizedPath> m_dirs; ///< top-level directories
  std::vector<SizedPath> m_files;
};

/// Builds the preview of `entries` (a scan of the project).
Preview make_preview(const std::vector<Entry>& entries);

/// The preview as lines for stderr (no secret content or path, only sizes
/// and paths of ordinary files).
std::vector<std::string> format_preview(const Preview& preview);

/// Bytes as people read them ("1.5 MiB").
std::string human_bytes(std::uint64_t bytes);

} // namespace tccp::sync
