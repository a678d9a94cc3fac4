#pragma once
/// SHA-256 of strings and files (OpenSSL), as lower-case hex. The one hash of
/// sync: file contents, symlink targets and manifests all use it, and the
/// remote side computes the same digests with sha256sum.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace tccp::sync {

/// The digest of the empty string, which is also the digest of an empty tree.
inline constexpr std::string_view empty_digest =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// An incremental SHA-256.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  /// The hex digest; the hasher cannot be updated afterwards.
  std::string hex_digest();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// SHA-256 of `bytes` as hex.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 of a file's contents, read in fixed-size chunks (memory stays
/// flat). Throws Error(failed) naming the file when it cannot be read.
/// `bytes_read`, when given, receives the number of bytes hashed.
std::string sha256_file(const std::filesystem::path& path, std::uint64_t* bytes_read = nullptr);

} // namespace tccp::sync
