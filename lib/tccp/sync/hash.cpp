#include "tccp/sync/hash.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <vector>

#include "tccp/core/error.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

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

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx, md, &len) != 1) {
    throw Error(ExitCode::internal, "SHA-256 final failed");
  }
  m_impl->done = true;
  return util::hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex_digest();
}

std::string sha256_file(const std::filesystem::path& path, std::uint64_t* bytes_read) {
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
  return h.hex_digest();
}

} // namespace tccp::sync
