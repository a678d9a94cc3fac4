#pragma once
/// OpenSSH client configuration (ssh_config(5)): the subset tccp honours.
/// `Host` blocks with patterns (*, ?, !negation), `Include`, and the
/// keywords HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump,
/// ServerAliveInterval, ServerAliveCountMax, ConnectTimeout,
/// UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, BatchMode,
/// PubkeyAuthentication, PasswordAuthentication,
/// KbdInteractiveAuthentication, PreferredAuthentications. Like ssh, the
/// first value obtained for a keyword wins (IdentityFile accumulates).
/// `Match` blocks are skipped (never applied).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tccp::ssh {

/// The options ssh_config gave for one host name (all optional: unset means
/// "ssh_config said nothing").
struct HostOptions {
  std::optional<std::string> hostname;
  std::optional<std::string> user;
  std::optional<int> port;
  std::vector<std::string> identity_files; ///< raw, before %-expansion
  std::optional<bool> identities_only;
  std::optional<std::string> proxy_jump; ///< "none" disables
  std::optional<int> server_alive_interval_s;
  std::optional<int> server_alive_count_max;
  std::optional<int> connect_timeout_s;
  std::optional<std::vector<std::string>> user_known_hosts_files;
  std::optional<std::vector<std::string>> global_known_hosts_files;
  std::optional<std::string> host_key_alias;
  std::optional<bool> batch_mode;
  std::optional<bool> pubkey_authentication;
  std::optional<bool> password_authentication;
  std::optional<bool> kbd_interactive_authentication;
  std::optional<std::vector<std::string>> preferred_authentications;
  std::optional<std::string> proxy_command; ///< not supported: reported, never run
};

/// One parsed ssh_config: a list of (patterns, keyword, value) in file order.
class SshConfig {
public:
  /// Parses `text`; `origin` names it in messages and anchors relative
  /// Include paths (`include_dir`, normally ~/.ssh). Unknown keywords are
  /// ignored, as ssh does with many of them.
  static SshConfig parse(std::string_view text, const std::string& origin,
                         const std::filesystem::path& include_dir);

  /// Reads `path`; a missing file is an empty config. Throws
  /// Error(config) when the file exists but cannot be read or parsed.
  static SshConfig load(const std::filesystem::path& path,
                        const std::filesystem::path& include_dir);

  /// The config ssh would use: `explicit_file` (like `ssh -F`) when given,
  /// else $TCCP_SSH_CONFIG when set, else ~/.ssh/config followed by
  /// /etc/ssh/ssh_config.
  static SshConfig load_default(const std::optional<std::string>& explicit_file);

  /// The options for `host` (the name as the user typed it).
  HostOptions lookup(std::string_view host) const;

  /// Appends the entries of `other` (used to add the system-wide file).
  void append(const SshConfig& other);

private:
  struct Entry {
    std::vector<std::string> patterns; ///< the Host line's patterns; empty = global
    bool skip = false;                 ///< inside a Match block
    std::string keyword;               ///< lower-case
    std::vector<std::string> args;
  };
  std::vector<Entry> m_entries;
};

/// True when `host` matches the ssh_config pattern list (comma- or
/// space-separated, `*` and `?` wildcards, `!` negates and wins).
bool host_matches(std::string_view host, const std::vector<std::string>& patterns);

/// True when `text` matches the glob `pattern` (`*`, `?`), case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text);

/// Expands ssh's tokens in IdentityFile-like values: `~`, %d (local home),
/// %u (local user), %h (remote host name), %r (remote user), %p (port),
/// %n (the name as typed), %%.
std::string expand_tokens(std::string_view value, std::string_view host, std::string_view user,
                          int port, std::string_view original);

} // namespace tccp::ssh
