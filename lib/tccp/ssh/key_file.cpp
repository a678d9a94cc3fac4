#include "tccp/ssh/key_file.hpp"

#include "tccp/ssh/known_hosts.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

namespace {

// Reads one SSH "string" (uint32 length + bytes) at `pos`.
std::optional<std::string_view> read_string(std::string_view s, std::size_t& pos) {
  if (pos + 4 > s.size()) {
    return std::nullopt;
  }
  std::uint32_t len = (static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos])) << 24) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos + 1])) << 16) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos + 2])) << 8) |
                      static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos + 3]));
  pos += 4;
  if (len > s.size() - pos) {
    return std::nullopt;
  }
  std::string_view out = s.substr(pos, len);
  pos += len;
  return out;
}

// The base64 body between the BEGIN and END lines, without headers.
std::string pem_body(std::string_view text) {
  std::string body;
  bool in = false;
  for (const auto& raw : util::split(text, '\n')) {
    std::string line = util::trim(raw);
    if (util::starts_with(line, "-----BEGIN")) {
      in = true;
      continue;
    }
    if (util::starts_with(line, "-----END")) {
      break;
    }
    if (in && line.find(':') == std::string::npos) {
      body += line;
    }
  }
  return body;
}

bool libssh2_cipher_ok(std::string_view cipher) {
  return cipher == "none" || cipher == "aes128-ctr" || cipher == "aes192-ctr" ||
         cipher == "aes256-ctr" || cipher == "aes128-cbc" || cipher == "aes192-cbc" ||
         cipher == "aes256-cbc" || cipher == "3des-cbc";
}

void judge(KeyFileInfo& info) {
  if (info.type == "ssh-rsa") {
    info.problem = rsa_key_problem();
    info.fix = rsa_key_fix();
  } else if (info.type == "ssh-dss") {
    info.problem = "DSA keys are disabled by current OpenSSH servers";
    info.fix = rsa_key_fix();
  } else if (util::starts_with(info.type, "sk-")) {
    info.problem = "security-key (FIDO) keys are not supported by tccp's SSH library";
    info.fix = rsa_key_fix();
  } else if (info.encrypted && !info.cipher.empty() && !libssh2_cipher_ok(info.cipher)) {
    info.problem = "the key is encrypted with " + info.cipher +
                   ", which tccp's SSH library (libssh2 1.10) cannot decrypt";
    info.fix = "re-encrypt it with a supported cipher: ssh-keygen -p -Z aes256-ctr -f KEY";
  }
}

} // namespace

std::string rsa_key_problem() {
  return "RSA keys cannot be used: tccp's SSH library (libssh2 1.10) signs only with ssh-rsa "
         "(SHA-1), which OpenSSH 8.8 and later servers refuse";
}

std::string rsa_key_fix() {
  return "create an ed25519 key (ssh-keygen -t ed25519) and add its .pub to "
         "~/.ssh/authorized_keys on the cluster, or log in with password + MFA";
}

KeyFileInfo inspect_key_text(std::string_view text) {
  KeyFileInfo info;
  if (text.find("-----BEGIN OPENSSH PRIVATE KEY-----") != std::string_view::npos) {
    auto raw = base64_decode(pem_body(text));
    static constexpr std::string_view magic{"openssh-key-v1\0", 15};
    if (raw && util::starts_with(*raw, magic)) {
      std::size_t pos = magic.size();
      auto cipher = read_string(*raw, pos);
      auto kdf = read_string(*raw, pos);
      auto kdf_opts = read_string(*raw, pos);
      if (cipher && kdf && kdf_opts && pos + 4 <= raw->size()) {
        pos += 4; // number of keys
        if (auto pub = read_string(*raw, pos)) {
          info.type = key_type_of_blob(*pub);
        }
        info.cipher = std::string(*cipher);
        info.encrypted = info.cipher != "none";
      }
    }
  } else if (text.find("-----BEGIN RSA PRIVATE KEY-----") != std::string_view::npos) {
    info.type = "ssh-rsa";
    info.encrypted = text.find("ENCRYPTED") != std::string_view::npos;
  } else if (text.find("-----BEGIN EC PRIVATE KEY-----") != std::string_view::npos) {
    info.type = "ecdsa-sha2-nistp256";
    info.encrypted = text.find("ENCRYPTED") != std::string_view::npos;
  } else if (text.find("-----BEGIN DSA PRIVATE KEY-----") != std::string_view::npos) {
    info.type = "ssh-dss";
    info.encrypted = text.find("ENCRYPTED") != std::string_view::npos;
  } else if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos) {
    info.encrypted = true;
  }
  judge(info);
  return info;
}

std::optional<KeyFileInfo> inspect_key_file(const std::filesystem::path& path) {
  std::optional<std::string> text;
  try {
    text = util::read_file_if_exists(path);
  } catch (const std::exception& e) {
    KeyFileInfo info;
    info.problem = std::string("cannot read it: ") + e.what();
    return info;
  }
  if (!text) {
    return std::nullopt;
  }
  KeyFileInfo info = inspect_key_text(*text);
  if (info.type.empty() || info.type == "ecdsa-sha2-nistp256") {
    // The public half names the exact type (and the curve).
    std::optional<std::string> pub;
    try {
      pub = util::read_file_if_exists(path.string() + ".pub");
    } catch (const std::exception&) {
      pub.reset();
    }
    if (pub) {
      auto words = util::split(util::trim(*pub), ' ');
      if (!words.empty() && !words.front().empty()) {
        info.type = words.front();
        info.problem.clear();
        info.fix.clear();
        judge(info);
      }
    }
  }
  return info;
}

} // namespace tccp::ssh
