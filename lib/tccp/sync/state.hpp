#pragma once
/// Local sync state under $TCCP_HOME/sync/<project>-<hash of its dir>/:
///   index                    the content-hash index (index.hpp)
///   <cluster>-<target>.state what the cluster holds for one target: its
///                            digest, its manifest, and (rodata) the
///                            allocation it was pushed for
/// Files are written atomically (0600) in 0700 directories; a corrupt file
/// is set aside, never trusted.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tccp/sync/rewrite.hpp"
#include "tccp/util/fs.hpp"

namespace tccp::sync {

/// $TCCP_HOME, else ~/.tccp.
std::filesystem::path tccp_home();

/// The state directory of the project at `project_dir` (created 0700).
std::filesystem::path project_state_dir(const std::string& project,
                                        const std::filesystem::path& project_dir);

/// A short stable key naming a cluster account and remote root.
std::string cluster_key(const std::string& host, const std::string& user, int port,
                        const std::string& remote_root);

/// What the client remembers of one remote target: the head of its state
/// file. The manifest after it is read a line at a time by a survey
/// (survey.hpp), never whole.
struct RemoteState {
  std::string digest;
  std::string allocation_id; ///< rodata: the allocation it was last pushed in
};

/// Loads the remembered digest and allocation, or nullopt when none (or when
/// the head is corrupt: then the file is moved to `file.corrupt` and
/// `*corrupt_out` is set). Only the head of the file is read.
std::optional<RemoteState> load_remote_state(const std::filesystem::path& file,
                                             bool* corrupt_out = nullptr);

/// Reads the head of a state file from `in`, at its start; nullopt when it
/// is malformed. `in` is then at the first line of the manifest.
std::optional<RemoteState> read_remote_state_head(util::LineReader& in);

/// Moves a corrupt state file aside, to `file.corrupt`.
void set_aside_remote_state(const std::filesystem::path& file);

/// A new state file, written as the manifest of the tree is produced a line
/// at a time (a LineRewrite: lines the old file holds in the same place are
/// not written unless something differs).
class StateDraft {
public:
  /// Will replace `file` with `allocation_id` and the lines given. When
  /// `old_body` is set, the old file's manifest starts there and its lines
  /// can be kept.
  StateDraft(std::filesystem::path file, const std::string& allocation_id,
             std::optional<std::uint64_t> old_body);
  ~StateDraft();
  StateDraft(const StateDraft&) = delete;
  StateDraft& operator=(const StateDraft&) = delete;

  /// See LineRewrite::keep and write.
  bool keep(std::uint64_t start, std::uint64_t end);
  void write(std::string_view line);

  /// Puts the file in place, with `digest`, that of the lines given.
  void commit(const std::string& digest);

private:
  std::unique_ptr<LineRewrite> m_rewrite;
};

} // namespace tccp::sync
