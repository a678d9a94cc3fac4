#pragma once
/// Walks a project directory and decides, with git's rules, which paths a
/// push considers. Nothing is read but directories, ignore files and
/// metadata; contents are hashed later (index.hpp).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tccp::sync {

/// What a path is on the cluster. The letter is its kind in the manifest.
enum class EntryKind : char {
  file = 'f',       ///< regular file
  executable = 'x', ///< regular file with an exec bit
  secret = 's',     ///< the env file: always synced, 0600 on the cluster
  symlink = 'l',    ///< symbolic link (its target is what is synced)
  directory = 'd',  ///< directory
};

/// One path of the scanned tree, with the metadata the index keys on.
struct Entry {
  std::string path; ///< relative to the scan root, '/'-separated
  EntryKind kind = EntryKind::file;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
  std::string link_target; ///< symlinks: the target as it will be on the cluster

  bool is_content() const { return kind != EntryKind::directory; }
};

/// Which ignore files are honoured inside the tree.
enum class IgnoreFiles {
  git_and_tccp, ///< .gitignore, .tccpignore, and the repository's info/exclude
  tccp_only,    ///< only .tccpignore (rodata directories)
};

struct ScanOptions {
  std::filesystem::path root; ///< the directory to scan
  /// Root-relative paths left out entirely, whatever the rules say (the
  /// output dir, rodata dirs).
  std::vector<std::string> excluded;
  /// Root-relative env file: synced even when ignored (kind `secret`).
  std::optional<std::string> env_file;
  IgnoreFiles ignore_files = IgnoreFiles::git_and_tccp;
};

/// The tree a push would consider: entries sorted by path (directories
/// included). Built-in exclusions: `.git`, `__pycache__/`, `.venv/`,
/// `node_modules/`. Symlinks are kept as links when their target stays inside
/// the root (an absolute target inside the root is made relative); a link
/// pointing outside the root is refused with Error(failed) naming it. Other
/// special files (sockets, fifos) are skipped. Throws Error(failed) when the
/// root is not a readable directory.
std::vector<Entry> scan_tree(const ScanOptions& options);

/// The same tree handed to `visit` one entry at a time, in the order of the
/// manifest (manifest_less), as it is walked: nothing of the tree is held.
void scan_tree(const ScanOptions& options, const std::function<void(Entry&&)>& visit);

/// The name git and tccp never descend into or sync.
bool is_builtin_excluded(std::string_view name, bool is_dir);

/// Lexically normalises a '/'-separated relative path ("a/./b/../c" ->
/// "a/c"); nullopt when ".." climbs above the start.
std::optional<std::string> normalise(std::string_view path);

} // namespace tccp::sync
