#pragma once
/// The manifest: what a tree holds, as text both sides can compute. One
/// line per path, sorted bytewise:
///     <escaped path> TAB <kind letter> TAB <sha256 or ->
/// The kind letters are those of EntryKind; the hash is of the contents
/// (files), of the target (symlinks), or "-" (directories). The tree digest
/// is the SHA-256 of the whole text, which the remote helper keeps next to
/// the tree and recomputes with sha256sum after merging a push.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tccp/sync/scan.hpp"

namespace tccp::sync {

/// Escapes a path for a manifest line: backslash, control bytes and DEL as
/// \xHH, everything else (UTF-8 included) as is. No tab or newline remains,
/// so a line splits on its tabs and sorts by path.
std::string escape_path(std::string_view path);

/// Reverses escape_path; throws Error(protocol) on a malformed escape.
std::string unescape_path(std::string_view escaped);

struct ManifestItem {
  EntryKind kind = EntryKind::file;
  std::string sha; ///< "-" for directories
  bool operator==(const ManifestItem& o) const { return kind == o.kind && sha == o.sha; }
};

/// A tree's manifest, keyed by (unescaped) path.
class Manifest {
public:
  void set(const std::string& path, ManifestItem item) { m_items[path] = std::move(item); }
  const ManifestItem* find(const std::string& path) const;
  const std::map<std::string, ManifestItem>& items() const { return m_items; }
  std::size_t size() const { return m_items.size(); }

  /// The canonical text (sorted lines, each ending in a newline).
  std::string text() const;
  /// SHA-256 of text().
  std::string digest() const;

  /// Parses the text form; throws Error(protocol) on a malformed line.
  static Manifest parse(std::string_view text);

  /// One line for `path` (without the newline).
  static std::string line(const std::string& path, const ManifestItem& item);

private:
  std::map<std::string, ManifestItem> m_items;
};

/// What turns the remote tree `from` into the local tree `to`.
struct Delta {
  std::vector<std::string> send;     ///< paths whose content travels (added or changed)
  std::vector<std::string> deleted;  ///< paths gone from `to`
  std::vector<std::string> replaced; ///< paths in both whose kind or content changed
  bool empty() const { return send.empty() && deleted.empty(); }
};

/// The delta from `from` (what the cluster holds) to `to` (the local tree).
Delta diff(const Manifest& from, const Manifest& to);

} // namespace tccp::sync
