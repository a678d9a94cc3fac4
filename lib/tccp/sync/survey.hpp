#pragma once
/// One walk of a tree to push, in manifest order, that does everything the
/// push needs to know before anything travels: each file's hash (from the
/// index, or read), the tree digest, and the difference with what the
/// cluster is believed to hold, read beside the walk a line at a time. The
/// index and the new state file are rewritten as it goes, and only where
/// they change. What is held in memory is what differs, never the tree: an
/// unchanged tree of any size costs the same few megabytes.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tccp/sync/hash.hpp"
#include "tccp/sync/index.hpp"
#include "tccp/sync/preview.hpp"
#include "tccp/sync/scan.hpp"
#include "tccp/sync/state.hpp"

namespace tccp::sync {

/// The manifest a survey compares the tree with: what the cluster is
/// believed to hold.
class BaseManifest {
public:
  /// No tree: every path is new.
  BaseManifest() = default;
  /// The manifest remembered in `state_file` after the head `head`; it is
  /// checked against the head's digest as it is read.
  static BaseManifest remembered(std::filesystem::path state_file, RemoteState head);
  /// A manifest the cluster sent (which hashes to the digest it gave).
  static BaseManifest sent(std::string text);

private:
  friend class BaseReader;
  enum class Source { none, remembered, sent };
  Source m_source = Source::none;
  std::filesystem::path m_state_file;
  RemoteState m_head;
  std::shared_ptr<const std::string> m_text;
};

/// A path whose content travels.
struct SendItem {
  std::string path;
  EntryKind kind = EntryKind::file;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  Sha256Digest sha{};
  std::string link_target; ///< symlinks
};

struct SurveyOptions {
  ScanOptions scan;
  std::filesystem::path index_file;
  std::filesystem::path state_file;
  std::string allocation_id; ///< the new state's
  bool preview = false;      ///< build a Preview of the tree
};

struct Survey {
  std::string digest; ///< of the tree
  std::size_t files_total = 0;
  std::uint64_t bytes_total = 0;
  /// What turns the base into the tree: the paths whose content travels...
  std::vector<SendItem> send;
  std::uint64_t send_bytes = 0;
  /// ... the number of paths gone...
  std::size_t deleted = 0;
  /// ... and the control files of sync_apply: paths to take out
  /// (NUL-separated), manifest lines to drop (escaped paths) and to add.
  std::string remove;
  std::string drop;
  std::string add;
  IndexStats index;
  /// The remembered manifest was damaged (and set aside): nothing above
  /// holds; survey again against no base.
  bool base_corrupt = false;
  std::optional<Preview> preview;
  /// The state file saying the cluster holds this tree, to commit once it does.
  std::unique_ptr<StateDraft> state;
};

/// Walks the tree of `options.scan` and compares it with `base`. Throws
/// Error(failed) for a local problem (see scan_tree; a file that cannot be
/// read), Error(protocol) when a manifest the cluster sent is malformed.
Survey survey_tree(const SurveyOptions& options, const BaseManifest& base);

} // namespace tccp::sync
