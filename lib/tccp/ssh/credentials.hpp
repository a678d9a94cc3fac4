#pragma once
/// A stored login password (what `tccp setup` may keep so that the
/// password prompt answers itself): in the desktop keyring through
/// `secret-tool` when one is reachable, else in a 0600 file under the 0700
/// tccp state directory. The secret travels on pipes only, never in argv
/// or the environment.
#include <filesystem>
#include <optional>
#include <string>

#include "tccp/ssh/prompt.hpp"

namespace tccp::ssh {

enum class CredentialBackend { keyring, file };

struct StoredWhere {
  CredentialBackend backend = CredentialBackend::file;
  std::string description; ///< "the desktop keyring" or the file's path
};

class CredentialStore {
public:
  /// `state_dir` is $TCCP_HOME (the file is state_dir/credentials).
  explicit CredentialStore(std::filesystem::path state_dir);

  /// The stored password for `account` ("user@host:port"), if any.
  std::optional<Secret> load_password(const std::string& account) const;

  /// Stores (replaces) the password for `account`. Throws Error(config)
  /// when it cannot be written.
  StoredWhere store_password(const std::string& account, const Secret& password) const;

  /// Forgets the password for `account` (no error when there is none).
  void erase_password(const std::string& account) const;

  /// True when a desktop keyring is reachable (secret-tool and a session bus).
  static bool keyring_available();

  const std::filesystem::path& file() const { return m_file; }

private:
  std::filesystem::path m_dir;
  std::filesystem::path m_file;
};

} // namespace tccp::ssh
