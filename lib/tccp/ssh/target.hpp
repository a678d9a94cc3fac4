#pragma once
/// Where to connect and how: a host as the user named it (an address, a
/// name, or an ~/.ssh/config alias) resolved through ssh_config, with the
/// cluster profile's own settings on top.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tccp/ssh/ssh_config.hpp"

namespace tccp::ssh {

/// What the caller knows (the cluster profile, command-line flags). Set
/// fields override ssh_config.
struct TargetSpec {
  std::string host; ///< address, name or ssh alias
  std::optional<int> port;
  std::optional<std::string> user;
  std::vector<std::string> identity_files;    ///< tried before ssh_config's
  std::vector<std::string> known_hosts_files; ///< extra files trusted for host keys
  std::optional<std::string> proxy_jump;      ///< "[user@]host[:port],..." or "none"
  std::optional<std::string> askpass;
  std::string tccp_known_hosts; ///< where accepted host keys are recorded
};

/// A fully resolved host to connect to.
struct Target {
  std::string alias;    ///< the name as given (messages, ssh_config lookups)
  std::string hostname; ///< what is connected to
  int port = 22;
  std::string user;
  std::vector<std::string> identity_files; ///< expanded paths, in order
  bool identities_only = false;
  bool pubkey = true;   ///< PubkeyAuthentication
  bool password = true; ///< PasswordAuthentication
  bool kbd_interactive = true;
  std::vector<std::string> preferred_auth; ///< empty: tccp's order
  std::vector<Target> jumps;               ///< ProxyJump chain, outermost first
  std::vector<std::string> known_hosts_files;
  std::string tccp_known_hosts;
  std::optional<std::string> host_key_alias;
  std::optional<std::string> askpass;
  bool batch_mode = false;
  std::chrono::seconds connect_timeout{20};
  std::chrono::seconds alive_interval{15}; ///< keepalive period
  int alive_count_max = 3;                 ///< silent periods before the link is dead

  /// "user@alias" (and ":port" when not 22), for messages.
  std::string describe() const;
  /// "user@hostname:port", the key for stored credentials.
  std::string account() const;
  /// The name host keys are recorded under (HostKeyAlias or hostname).
  std::string host_key_name() const;
};

/// Resolves `spec` with `config`. Throws Error(config) on a malformed
/// ProxyJump or port.
Target resolve_target(const TargetSpec& spec, const SshConfig& config);

/// Splits "[user@]host[:port]" (also "[v6addr]:port").
struct HostPort {
  std::optional<std::string> user;
  std::string host;
  std::optional<int> port;
};
HostPort parse_host_port(const std::string& text);

} // namespace tccp::ssh
