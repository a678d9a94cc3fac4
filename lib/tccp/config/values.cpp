#include "tccp/config/values.hpp"

#include <array>
#include <cctype>
#include <limits>

#include "tccp/util/strings.hpp"

namespace tccp::config {

namespace {
bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 12) {
    return false;
  }
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

std::optional<long long> digits(std::string_view s) {
  if (!all_digits(s)) {
    return std::nullopt;
  }
  return std::stoll(std::string(s));
}

// Parses "a", "a:b" or "a:b:c" into up to three numbers.
std::optional<std::vector<long long>> colon_fields(std::string_view s) {
  std::vector<long long> out;
  for (const auto& part : util::split(s, ':')) {
    auto n = digits(part);
    if (!n) {
      return std::nullopt;
    }
    out.push_back(*n);
  }
  if (out.empty() || out.size() > 3) {
    return std::nullopt;
  }
  return out;
}
} // namespace

std::optional<long long> parse_time_limit_s(std::string_view text) {
  std::string s = util::trim(text);
  long long total = 0;
  auto dash = s.find('-');
  if (dash != std::string::npos) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    auto days = digits(std::string_view(s).substr(0, dash));
    auto rest = colon_fields(std::string_view(s).substr(dash + 1));
    if (!days || !rest) {
      return std::nullopt;
    }
    const auto& f = *rest;
    if (f[0] >= 24 || (f.size() > 1 && f[1] >= 60) || (f.size() > 2 && f[2] >= 60)) {
      return std::nullopt;
    }
    total =
        *days * 86400 + f[0] * 3600 + (f.size() > 1 ? f[1] * 60 : 0) + (f.size() > 2 ? f[2] : 0);
  } else {
    auto fields = colon_fields(s);
    if (!fields) {
      return std::nullopt;
    }
    const auto& f = *fields;
    if (f.size() == 1) { // MM
      total = f[0] * 60;
    } else if (f.size() == 2) { // MM:SS
      if (f[1] >= 60) {
        return std::nullopt;
      }
      total = f[0] * 60 + f[1];
    } else { // HH:MM:SS
      if (f[1] >= 60 || f[2] >= 60) {
        return std::nullopt;
      }
      total = f[0] * 3600 + f[1] * 60 + f[2];
    }
  }
  if (total <= 0) {
    return std::nullopt;
  }
  return total;
}

std::string format_time_limit(long long seconds) {
  long long days = seconds / 86400;
  long long h = (seconds % 86400) / 3600;
  long long m = (seconds % 3600) / 60;
  long long s = seconds % 60;
  char buf[64];
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", days, h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  }
  return buf;
}

std::optional<long long> parse_memory_mb(std::string_view text) {
  std::string s = util::trim(text);
  if (!s.empty() && (s.back() == 'B' || s.back() == 'b') && s.size() >= 2 &&
      std::isalpha(static_cast<unsigned char>(s[s.size() - 2])) != 0) {
    s.pop_back(); // "64GB" -> "64G"
  }
  if (s.empty()) {
    return std::nullopt;
  }
  long long factor_kb = 1024; // MB by default
  char last = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
  if (std::isalpha(static_cast<unsigned char>(last)) != 0) {
    switch (last) {
    case 'K': factor_kb = 1; break;
    case 'M': factor_kb = 1024; break;
    case 'G': factor_kb = 1024LL * 1024; break;
    case 'T': factor_kb = 1024LL * 1024 * 1024; break;
    default: return std::nullopt;
    }
    s.pop_back();
  }
  auto n = digits(s);
  if (!n || *n == 0) {
    return std::nullopt;
  }
  long long kb = *n * factor_kb;
  return (kb + 1023) / 1024;
}

std::string format_memory(long long mb) {
  if (mb % (1024LL * 1024) == 0) {
    return std::to_string(mb / (1024LL * 1024)) + "T";
  }
  if (mb % 1024 == 0) {
    return std::to_string(mb / 1024) + "G";
  }
  return std::to_string(mb) + "M";
}

std::optional<long long> parse_duration_s(std::string_view text) {
  std::string s = util::trim(text);
  if (s.find(':') != std::string::npos || s.find('-') != std::string::npos) {
    return parse_time_limit_s(s);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  long long unit = 1;
  switch (s.back()) {
  case 's': unit = 1; break;
  case 'm': unit = 60; break;
  case 'h': unit = 3600; break;
  case 'd': unit = 86400; break;
  default: unit = 0; break;
  }
  if (unit != 0) {
    s.pop_back();
  } else {
    unit = 1;
  }
  auto n = digits(s);
  if (!n || *n == 0) {
    return std::nullopt;
  }
  return *n * unit;
}

std::optional<long long> parse_integer(std::string_view text) {
  std::string s = util::trim(text);
  bool negative = !s.empty() && s.front() == '-';
  auto n = digits(negative ? std::string_view(s).substr(1) : std::string_view(s));
  if (!n) {
    return std::nullopt;
  }
  return negative ? -*n : *n;
}

const std::vector<std::string>& known_gpu_types() {
  static const std::vector<std::string> types{
      "t4",        "p100",        "rtx_6000",  "v100", "a100-40gb", "rtx_a5000", "l40",
      "rtx_a6000", "rtx_6000ada", "a100-80gb", "l40s", "h100",      "a100"};
  return types;
}

bool is_80gb_gpu(std::string_view type) {
  return type == "a100-80gb" || type == "h100";
}

const std::vector<std::pair<std::string, std::string>>& default_images() {
  static const std::vector<std::pair<std::string, std::string>> images{
      {"python", "python:3.11-slim"},
      {"python-pytorch", "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime"},
  };
  return images;
}

const std::vector<std::string>& env_types() {
  static const std::vector<std::string> types{"python", "python-pytorch"};
  return types;
}

} // namespace tccp::config
