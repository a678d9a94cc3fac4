#pragma once
/// Writes a tar stream (GNU format, which the cluster's GNU tar reads
/// natively: any byte in names, long names, large files) through a callback,
/// one bounded chunk at a time: memory stays flat whatever the sizes.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tccp/sync/hash.hpp"

namespace tccp::sync {

class TarWriter {
public:
  using Output = std::function<void(std::string_view)>;

  explicit TarWriter(Output output);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  /// A regular file holding `data`.
  void add_bytes(const std::string& name, std::string_view data, unsigned mode = 0600);

  /// A regular file streamed from `source`. Returns the SHA-256 of what was
  /// sent, so the caller can notice a file that changed since it was hashed.
  /// `on_bytes` is called as content goes out. Throws Error(failed) when the
  /// source cannot be read.
  Sha256Digest add_file(const std::string& name, const std::filesystem::path& source, unsigned mode,
                        std::int64_t mtime_s,
                        const std::function<void(std::uint64_t)>& on_bytes = {});

  void add_symlink(const std::string& name, const std::string& target);
  void add_directory(const std::string& name, unsigned mode = 0755);

  /// Writes the end-of-archive blocks.
  void finish();

  /// Bytes handed to the output so far.
  std::uint64_t bytes_out() const { return m_bytes_out; }

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  Output m_output;
  std::uint64_t m_bytes_out = 0;
  friend struct TarCallbacks;
};

} // namespace tccp::sync
