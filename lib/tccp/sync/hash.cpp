#include "tccp/sync/hash.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <vector>

#include "tccp/core/error.hpp"

namespace tccp::sync {

std::string to_hex(const Sha256Digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '\0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0xf];
  }
  return out;
}

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}
} // namespace

bool from_hex(std::string_view hex, Sha256Digest* out) {
  Sha256Digest d{};
  if (hex.size() != d.size() * 2) {
    return false;
  }
  for (std::size_t i = 0; i < d.size(); ++i) {
    int hi = hex_digit(hex[2 * i]);
    int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    d[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  *out = d;
  return true;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  bool done = false;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  if (m_impl->ctx == nullptr || EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr) != 1) {
    throw Error(ExitCode::internal, "cannot initialise SHA-256");
  }
}

Sha256::Sha256(const Sha256& other) : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  if (m_impl->ctx == nullptr || EVP_MD_CTX_copy_ex(m_impl->ctx, other.m_impl->ctx) != 1) {
    EVP_MD_CTX_free(m_impl->ctx);
    throw Error(ExitCode::internal, "cannot copy a SHA-256 state");
  }
  m_impl->done = other.m_impl->done;
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(m_impl->ctx);
}

void Sha256::update(std::string_view bytes) {
  if (m_impl->done) {
    throw Error(ExitCode::internal, "SHA-256 updated after its digest was taken");
  }
  if (!bytes.empty() && EVP_DigestUpdate(m_impl->ctx, bytes.data(), bytes.size()) != 1) {
    throw Error(ExitCode::internal, "SHA-256 update failed");
  }
}

Sha256Digest Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx, md, &len) != 1 || len != Sha256Digest().size()) {
    throw Error(ExitCode::internal, "SHA-256 final failed");
  }
  m_impl->done = true;
  Sha256Digest d;
  std::copy(md, md + len, d.begin());
  return d;
}

Sha256Digest sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.digest();
}

std::string sha256_hex(std::string_view bytes) {
  return to_hex(sha256(bytes));
}

Sha256Digest sha256_file(const std::filesystem::path& path, std::uint64_t* bytes_read) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw Error(ExitCode::failed, "cannot read '" + path.string() + "': " + std::strerror(errno));
  }
  Sha256 h;
  // One buffer per thread, reused: a fresh megabyte per file would cost
  // page faults by the million on trees of small files.
  thread_local std::vector<char> buf(std::size_t{1} << 20);
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw Error(ExitCode::failed, "cannot read '" + path.string() + "': " + std::strerror(e));
    }
    if (n == 0) {
      break;
    }
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  if (bytes_read != nullptr) {
    *bytes_read = total;
  }
  return h.digest();
}

} // namespace tccp::sync
