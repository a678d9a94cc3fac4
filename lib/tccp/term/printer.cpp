#include "tccp/term/printer.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "tccp/util/tty.hpp"

namespace tccp::term {

namespace {
constexpr const char* red = "\033[31m";
constexpr const char* yellow = "\033[33m";
constexpr const char* bold = "\033[1m";
constexpr const char* reset = "\033[0m";

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}
} // namespace

Printer::Printer(std::string tool)
    : m_tool(std::move(tool)), m_colour(util::colour_wanted(STDERR_FILENO)) {}

void Printer::error(const std::string& message) const {
  std::cerr << m_tool << ": " << (m_colour ? red : "") << "error:" << (m_colour ? reset : "") << ' '
            << message << '\n';
}

void Printer::warning(const std::string& message) const {
  std::cerr << m_tool << ": " << (m_colour ? yellow : "") << "warning:" << (m_colour ? reset : "")
            << ' ' << message << '\n';
}

void Printer::hint(const std::string& message) const {
  std::cerr << (m_colour ? yellow : "") << "hint:" << (m_colour ? reset : "") << ' ' << message
            << '\n';
}

void Printer::info(const std::string& message) const {
  if (!m_quiet) {
    std::cerr << message << '\n';
  }
}

std::string format_table(const std::vector<std::vector<std::string>>& rows, bool colour) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      const auto& cell = rows[r][i];
      line += cell;
      if (i + 1 < rows[r].size()) {
        line += std::string(widths[i] - display_width(cell) + 2, ' ');
      }
    }
    if (r == 0 && colour) {
      line = std::string(bold) + line + reset;
    }
    out += line + '\n';
  }
  return out;
}

std::string format_duration(long long seconds) {
  char buf[64];
  if (seconds < 0) {
    return "-";
  }
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%llds", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", seconds / 60, seconds % 60);
  } else if (seconds < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", seconds / 3600, (seconds % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", seconds / 86400, (seconds % 86400) / 3600);
  }
  return buf;
}

std::string format_bytes(unsigned long long bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char buf[64];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  }
  return buf;
}

} // namespace tccp::term
