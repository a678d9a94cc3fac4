#pragma once
/// Rewriting a file of lines that mostly stays as it is (the index, a state
/// file) while its new lines are produced one at a time: nothing is written
/// while they are the old file's own lines, so an unchanged file costs no
/// write at all and a changed one is never held in memory.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tccp/util/fs.hpp"

namespace tccp::sync {

class LineRewrite {
public:
  /// Rewrites `file` with the head `head` and then the lines given. When
  /// `old_body` is set, the lines of the current `file` from that offset on
  /// can be kept (keep()); otherwise every line is written.
  LineRewrite(std::filesystem::path file, std::string head, std::optional<std::uint64_t> old_body);
  ~LineRewrite();
  LineRewrite(const LineRewrite&) = delete;
  LineRewrite& operator=(const LineRewrite&) = delete;

  /// The next line is the old file's bytes [start, end) (newline included).
  /// True when it is kept as it is: every line so far was kept, and it
  /// follows them in the old file. Otherwise the caller write()s it.
  bool keep(std::uint64_t start, std::uint64_t end);

  /// Writes the next line (newline included).
  void write(std::string_view line);

  /// Nothing differs from the old file so far: its lines up to kept_end().
  bool clean() const { return !m_out; }
  std::uint64_t kept_end() const { return m_kept_end; }

  /// Overwrites bytes of the new head (a value known only at the end).
  void patch(std::uint64_t offset, std::string_view bytes);

  /// Puts the new file in place: the head and the lines (those kept so far
  /// copied from the old file if nothing was written yet).
  void commit();

private:
  void start_writing();

  std::filesystem::path m_file;
  std::string m_head;
  int m_old_fd = -1;
  std::uint64_t m_body = 0;
  std::uint64_t m_kept_end = 0;
  std::unique_ptr<util::AtomicFileWriter> m_out;
};

} // namespace tccp::sync
