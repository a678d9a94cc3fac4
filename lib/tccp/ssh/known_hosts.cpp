#include "tccp/ssh/known_hosts.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tccp/core/error.hpp"
#include "tccp/ssh/ssh_config.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

namespace {

std::uint32_t read_u32(std::string_view s, std::size_t pos) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[pos + 3]));
}

bool known_key_type(std::string_view t) {
  return t == "ssh-ed25519" || t == "ecdsa-sha2-nistp256" || t == "ecdsa-sha2-nistp384" ||
         t == "ecdsa-sha2-nistp521" || t == "ssh-rsa" || t == "ssh-dss" ||
         t == "sk-ssh-ed25519@openssh.com" || t == "sk-ecdsa-sha2-nistp256@openssh.com";
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ::HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = ::EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = ::EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
  if (n < 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t len = static_cast<std::size_t>(n);
  if (text.back() == '=') {
    --len;
  }
  if (text.size() >= 2 && text[text.size() - 2] == '=') {
    --len;
  }
  out.resize(len);
  return out;
}

std::string key_type_of_blob(std::string_view blob) {
  if (blob.size() < 4) {
    return {};
  }
  std::uint32_t len = read_u32(blob, 0);
  if (len > blob.size() - 4) {
    return {};
  }
  return std::string(blob.substr(4, len));
}

std::string fingerprint_sha256(std::string_view blob) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(blob.data()), blob.size(), digest);
  std::string b64 =
      base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  while (!b64.empty() && b64.back() == '=') {
    b64.pop_back();
  }
  return "SHA256:" + b64;
}

std::string known_hosts_name(std::string_view host, int port) {
  if (port == 22 || port <= 0) {
    return std::string(host);
  }
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

void KnownHosts::load(const std::filesystem::path& path) {
  std::optional<std::string> text;
  try {
    text = util::read_file_if_exists(path);
  } catch (const std::exception&) {
    // An unreadable file is treated like a missing one: it cannot vouch for
    // any key, and the check then reports the host as unknown.
    return;
  }
  if (text) {
    add_text(*text, path.string());
  }
}

void KnownHosts::add_text(std::string_view text, const std::string& origin) {
  int lineno = 0;
  for (const auto& raw : util::split(text, '\n')) {
    ++lineno;
    std::string line = util::trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    std::vector<std::string> f;
    for (auto& w : util::split(line, ' ')) {
      for (auto& x : util::split(w, '\t')) {
        if (!x.empty()) {
          f.push_back(x);
        }
      }
    }
    Entry e;
    e.file = origin;
    e.line = lineno;
    std::size_t i = 0;
    if (!f.empty() && f[0].front() == '@') {
      if (f[0] == "@revoked") {
        e.revoked = true;
      } else {
        continue; // @cert-authority: certificates are not used by tccp
      }
      i = 1;
    }
    if (f.size() < i + 3) {
      ++m_bad_lines;
      continue;
    }
    const std::string& hosts = f[i];
    e.key_type = f[i + 1];
    if (!known_key_type(e.key_type)) {
      continue; // a type tccp cannot meet (certificates, future types)
    }
    auto blob = base64_decode(f[i + 2]);
    if (!blob || key_type_of_blob(*blob) != e.key_type) {
      ++m_bad_lines;
      continue;
    }
    e.blob = std::move(*blob);
    if (util::starts_with(hosts, "|1|")) {
      auto parts = util::split(std::string_view(hosts).substr(3), '|');
      auto salt = parts.size() == 2 ? base64_decode(parts[0]) : std::nullopt;
      auto hash = parts.size() == 2 ? base64_decode(parts[1]) : std::nullopt;
      if (!salt || !hash) {
        ++m_bad_lines;
        continue;
      }
      e.salt = std::move(*salt);
      e.hash = std::move(*hash);
    } else {
      e.patterns = util::split(hosts, ',');
    }
    m_entries.push_back(std::move(e));
  }
}

bool KnownHosts::names(const Entry& e, const std::string& name) const {
  if (!e.hash.empty()) {
    return hmac_sha1(e.salt, name) == e.hash;
  }
  bool matched = false;
  for (const auto& p : e.patterns) {
    if (p.empty()) {
      continue;
    }
    if (p.front() == '!') {
      if (glob_match(std::string_view(p).substr(1), name)) {
        return false;
      }
    } else if (glob_match(p, name)) {
      matched = true;
    }
  }
  return matched;
}

HostKeyCheck KnownHosts::check(std::string_view host, int port, std::string_view blob) const {
  std::string name = known_hosts_name(host, port);
  std::string type = key_type_of_blob(blob);
  HostKeyCheck result;
  const Entry* mismatch = nullptr;
  for (const auto& e : m_entries) {
    if (!names(e, name)) {
      continue;
    }
    if (e.revoked) {
      if (e.blob == blob) {
        return HostKeyCheck{HostKeyStatus::revoked, e.file, e.line, {}, {}};
      }
      continue;
    }
    if (e.key_type == type) {
      if (e.blob == blob) {
        result = HostKeyCheck{HostKeyStatus::match, e.file, e.line, {}, {}};
      } else if (mismatch == nullptr) {
        mismatch = &e;
      }
    } else if (std::find(result.known_types.begin(), result.known_types.end(), e.key_type) ==
               result.known_types.end()) {
      result.known_types.push_back(e.key_type);
    }
  }
  // A revoked key was handled above; a match anywhere wins over a stale line
  // elsewhere (OpenSSH accepts a host listed with several keys of one type).
  if (result.status == HostKeyStatus::match) {
    return result;
  }
  if (mismatch != nullptr) {
    return HostKeyCheck{HostKeyStatus::mismatch,
                        mismatch->file,
                        mismatch->line,
                        fingerprint_sha256(mismatch->blob),
                        {}};
  }
  if (!result.known_types.empty()) {
    result.status = HostKeyStatus::other_type;
  }
  return result;
}

std::vector<std::string> KnownHosts::known_types(std::string_view host, int port) const {
  std::string name = known_hosts_name(host, port);
  std::vector<std::string> out;
  for (const auto& e : m_entries) {
    if (!e.revoked && names(e, name) &&
        std::find(out.begin(), out.end(), e.key_type) == out.end()) {
      out.push_back(e.key_type);
    }
  }
  return out;
}

void append_known_host(const std::filesystem::path& path, std::string_view host, int port,
                       std::string_view blob) {
  if (path.has_parent_path() && !std::filesystem::exists(path.parent_path())) {
    util::ensure_private_dir(path.parent_path());
  }
  std::string line = known_hosts_name(host, port) + " " + key_type_of_blob(blob) + " " +
                     base64_encode(blob) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ExitCode::auth,
                "cannot record the host key in '" + path.string() + "': " + std::strerror(errno));
  }
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t w = ::write(fd, rest.data(), rest.size());
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      int err = errno;
      ::close(fd);
      throw Error(ExitCode::auth,
                  "cannot record the host key in '" + path.string() + "': " + std::strerror(err));
    }
    rest.remove_prefix(static_cast<std::size_t>(w));
  }
  ::fsync(fd);
  ::close(fd);
}

} // namespace tccp::ssh
