#pragma once
/// How every tool reaches the cluster: open_remote() returns the client of
/// the running tccp-connect master for the cluster (never prompts), or
/// else a direct SSH connection (which may prompt on the terminal, or ask
/// the askpass program).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "tccp/config/cluster_profile.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/ssh/session.hpp"
#include "tccp/ssh/target.hpp"

namespace tccp::tools {

/// $TCCP_HOME, else ~/.tccp (config::tccp_home).
std::filesystem::path tccp_home();

/// Where the master of a cluster keeps its socket, lock and log: a 0700
/// directory ($XDG_RUNTIME_DIR/tccp, else $TCCP_HOME/run), one set of
/// files per cluster profile and endpoint.
struct MasterPaths {
  std::filesystem::path dir;
  std::filesystem::path socket;
  std::filesystem::path lock;
  std::filesystem::path log;
};
MasterPaths master_paths(const config::ClusterProfile& profile);

/// The SSH target for the profile: its host (address or ~/.ssh/config
/// alias) resolved through ssh_config (`ssh_config_file`, else
/// $TCCP_SSH_CONFIG, else ~/.ssh/config), the profile's fields on top.
ssh::Target resolve_target(const config::ClusterProfile& profile,
                           const std::optional<std::string>& ssh_config_file = std::nullopt);

/// How a direct connection may interact with the user.
struct DirectOptions {
  ssh::HostKeyPolicy host_keys = ssh::HostKeyPolicy::ask;
  bool allow_terminal = true;    ///< false: only askpass answers prompts
  bool capture_password = false; ///< keep a typed password (for setup)
  std::optional<std::string> ssh_config_file;
};

/// The master's client when a master for this profile runs, else a direct
/// connection (which may prompt). Throws Error(config/unreachable/auth).
std::unique_ptr<remote::Remote> open_remote(const config::ClusterProfile& profile);

/// A direct connection, never the master.
std::unique_ptr<remote::Remote> open_direct(const config::ClusterProfile& profile,
                                            const DirectOptions& options);

/// Connects and authenticates a session for the profile (what the master
/// and open_direct do first). `captured` receives a typed password when
/// options.capture_password.
std::unique_ptr<ssh::Session> connect_session(const config::ClusterProfile& profile,
                                              const DirectOptions& options,
                                              std::optional<ssh::Secret>* captured = nullptr);

} // namespace tccp::tools
