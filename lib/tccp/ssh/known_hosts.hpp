#pragma once
/// Host key verification against OpenSSH known_hosts files, read line by
/// line (a bad line is skipped, never the whole file): plain and hashed
/// (`|1|salt|hmac`) names, `[host]:port`, patterns with `*`, `?` and `!`,
/// and `@revoked` markers. Unlike libssh2's checker, a `host` entry never
/// matches another port than 22 (OpenSSH's rule).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tccp::ssh {

/// The outcome of checking one presented key.
enum class HostKeyStatus {
  match,      ///< a line lists this exact key for this host
  mismatch,   ///< the host is known with another key of the same type
  other_type, ///< the host is known, but only with keys of other types
  revoked,    ///< the key is marked @revoked
  unknown,    ///< the host is not in any file
};

struct HostKeyCheck {
  HostKeyStatus status = HostKeyStatus::unknown;
  std::string file; ///< where the deciding line is (match, mismatch, revoked)
  int line = 0;
  std::string known_fingerprint;        ///< the recorded key's fingerprint (mismatch)
  std::vector<std::string> known_types; ///< other_type: the types on record
};

/// The key type name inside an SSH public key blob ("ssh-ed25519").
std::string key_type_of_blob(std::string_view blob);

/// "SHA256:" + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints.
std::string fingerprint_sha256(std::string_view blob);

/// The name under which known_hosts records host:port ("host" for port 22,
/// else "[host]:port").
std::string known_hosts_name(std::string_view host, int port);

/// Base64 (standard alphabet, padded) encode and decode; decode returns
/// nullopt on malformed input.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

/// A set of known_hosts files.
class KnownHosts {
public:
  /// Adds every valid line of `path` (missing file: nothing). Lines that do
  /// not parse are skipped and counted in bad_lines().
  void load(const std::filesystem::path& path);

  /// Adds the lines of `text` as if read from a file called `origin`.
  void add_text(std::string_view text, const std::string& origin);

  /// Checks the key `blob` presented by `host`:`port`.
  HostKeyCheck check(std::string_view host, int port, std::string_view blob) const;

  /// The key types recorded for host:port, in file order without repeats
  /// (to prefer them during key exchange, as OpenSSH does).
  std::vector<std::string> known_types(std::string_view host, int port) const;

  int bad_lines() const { return m_bad_lines; }

private:
  struct Entry {
    std::string file;
    int line = 0;
    bool revoked = false;
    std::vector<std::string> patterns; ///< plain patterns (with ! and wildcards)
    std::string salt;                  ///< hashed entries: raw salt
    std::string hash;                  ///< hashed entries: raw HMAC-SHA1
    std::string key_type;
    std::string blob;
  };
  bool names(const Entry& e, const std::string& name) const;
  std::vector<Entry> m_entries;
  int m_bad_lines = 0;
};

/// Appends "name type base64" for host:port to `path` (created 0600, its
/// directory 0700 when missing). Never rewrites existing lines.
void append_known_host(const std::filesystem::path& path, std::string_view host, int port,
                       std::string_view blob);

} // namespace tccp::ssh
