#pragma once
/// The one place that decides how tccp talks to people: messages in git's
/// voice on stderr, colour only on a real terminal, tables for humans.
#include <string>
#include <vector>

namespace tccp::term {

/// Messages on stderr: "<tool>: error: ...", "hint: ...", "<tool>: warning: ...".
class Printer {
public:
  explicit Printer(std::string tool);

  void error(const std::string& message) const;
  void warning(const std::string& message) const;
  void hint(const std::string& message) const;
  /// A progress or status line for people; dropped when --quiet.
  void info(const std::string& message) const;

  const std::string& tool() const { return m_tool; }
  void set_quiet(bool quiet) { m_quiet = quiet; }

private:
  std::string m_tool;
  bool m_colour;
  bool m_quiet = false;
};

/// Formats rows as aligned columns (first row is the header). Colour for
/// the header only when `colour` is true.
std::string format_table(const std::vector<std::vector<std::string>>& rows, bool colour);

/// A duration in seconds as people read it: "42s", "3m05s", "2h01m", "1d03h".
std::string format_duration(long long seconds);

/// Bytes as people read them: "512 B", "1.5 KiB", "3.2 MiB".
std::string format_bytes(unsigned long long bytes);

} // namespace tccp::term
