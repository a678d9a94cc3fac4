#pragma once
/// What a private key file is, read without decrypting it, so that keys
/// libssh2 1.10 cannot use are explained instead of failing obscurely.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tccp::ssh {

struct KeyFileInfo {
  std::string type;       ///< "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"; "" when unknown
  bool encrypted = false; ///< protected by a passphrase
  std::string cipher;     ///< OpenSSH-format keys: the cipher protecting it
  std::string problem;    ///< why tccp cannot use it (empty: usable)
  std::string fix;        ///< what to do about `problem`
};

/// Reads the key header of `text` (the private key file's contents).
KeyFileInfo inspect_key_text(std::string_view text);

/// Inspects the key at `path`; nullopt when the file does not exist. The
/// public half `path`.pub, when present, decides the type of keys whose
/// private format does not say it.
std::optional<KeyFileInfo> inspect_key_file(const std::filesystem::path& path);

/// The one-line explanation for RSA keys, shared by files and agent
/// identities: libssh2 1.10 signs only with ssh-rsa (SHA-1), which OpenSSH
/// 8.8 and later refuse.
std::string rsa_key_problem();
std::string rsa_key_fix();

} // namespace tccp::ssh
