#pragma once
/// Local sync state under $TCCP_HOME/sync/<project>-<hash of its dir>/:
///   index                    the content-hash index (index.hpp)
///   <cluster>-<target>.state what the cluster holds for one target: its
///                            digest, its manifest, and (rodata) the
///                            allocation it was pushed for
/// Files are written atomically (0600) in 0700 directories; a corrupt file
/// is set aside, never trusted.
#include <filesystem>
#include <optional>
#include <string>

#include "tccp/sync/manifest.hpp"

namespace tccp::sync {

/// $TCCP_HOME, else ~/.tccp.
std::filesystem::path tccp_home();

/// The state directory of the project at `project_dir` (created 0700).
std::filesystem::path project_state_dir(const std::string& project,
                                        const std::filesystem::path& project_dir);

/// A short stable key naming a cluster account and remote root.
std::string cluster_key(const std::string& host, const std::string& user, int port,
                        const std::string& remote_root);

/// What the client remembers of one remote target.
struct RemoteState {
  std::string digest;
  Manifest manifest;
  std::string allocation_id; ///< rodata: the allocation it was last pushed in
};

/// Loads the remembered state, or nullopt when none (or when it is corrupt:
/// then it is moved to `file.corrupt` and `*corrupt_out` is set).
std::optional<RemoteState> load_remote_state(const std::filesystem::path& file,
                                             bool* corrupt_out = nullptr);

/// Writes the state atomically.
void save_remote_state(const std::filesystem::path& file, const RemoteState& state);

} // namespace tccp::sync
