#pragma once
/// The manifest: what a tree holds, as text both sides can compute. One
/// line per path, sorted bytewise:
///     <escaped path> TAB <kind letter> TAB <sha256 or ->
/// The kind letters are those of EntryKind; the hash is of the contents
/// (files), of the target (symlinks), or "-" (directories). The tree digest
/// is the SHA-256 of the whole text, which the remote helper keeps next to
/// the tree and recomputes with sha256sum after merging a push.
///
/// Manifests are never held whole: the local one is produced a line at a
/// time as the tree is walked in manifest order, and compared as it goes
/// with the remembered one, read a line at a time (survey.hpp).
#include <string>
#include <string_view>

#include "tccp/sync/hash.hpp"
#include "tccp/sync/scan.hpp"

namespace tccp::sync {

/// Escapes a path for a manifest line: backslash, control bytes and DEL as
/// \xHH, everything else (UTF-8 included) as is. No tab or newline remains,
/// so a line splits on its tabs and sorts by path.
std::string escape_path(std::string_view path);

/// Reverses escape_path; throws Error(protocol) on a malformed escape.
std::string unescape_path(std::string_view escaped);

/// The order of manifest lines, on unescaped paths: `a` sorts before `b`
/// when escape_path(a) sorts bytewise before escape_path(b).
bool manifest_less(std::string_view a, std::string_view b);

/// Appends escape_path(path) to `out`.
void append_escaped(std::string& out, std::string_view path);

/// Appends the line of `path` (without the newline): its kind, and `sha` as
/// hex, or "-" for a directory.
void append_manifest_line(std::string& out, std::string_view path, EntryKind kind,
                          const Sha256Digest& sha);

/// Whether `line` (without its newline) is a well-formed manifest line.
bool is_manifest_line(std::string_view line);

} // namespace tccp::sync
