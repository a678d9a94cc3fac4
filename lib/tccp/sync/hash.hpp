#pragma once
/// SHA-256 of strings and files (OpenSSL), as raw bytes or lower-case hex.
/// The one hash of sync: file contents, symlink targets and manifests all use
/// it, and the remote side computes the same digests with sha256sum.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace tccp::sync {

/// The digest of the empty string, which is also the digest of an empty tree.
inline constexpr std::string_view empty_digest =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A SHA-256 digest as its 32 bytes (half the memory of its hex form, and no
/// allocation: trees hold one per file).
using Sha256Digest = std::array<unsigned char, 32>;

/// The digest as 64 lower-case hex digits.
std::string to_hex(const Sha256Digest& digest);

/// Parses 64 hex digits (either case); false, leaving `*out` as it was,
/// when `hex` is anything else.
bool from_hex(std::string_view hex, Sha256Digest* out);

/// An incremental SHA-256.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  /// A hasher that has seen what `other` has so far (each goes on alone).
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  /// The digest; the hasher cannot be updated afterwards.
  Sha256Digest digest();
  /// The digest as hex.
  std::string hex_digest() { return to_hex(digest()); }

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// SHA-256 of `bytes` as hex.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 of `bytes`.
Sha256Digest sha256(std::string_view bytes);

/// SHA-256 of a file's contents, read in fixed-size chunks (memory stays
/// flat). Throws Error(failed) naming the file when it cannot be read.
/// `bytes_read`, when given, receives the number of bytes hashed.
Sha256Digest sha256_file(const std::filesystem::path& path, std::uint64_t* bytes_read = nullptr);

} // namespace tccp::sync
