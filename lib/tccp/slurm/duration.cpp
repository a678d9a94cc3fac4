#include "tccp/slurm/duration.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "tccp/util/strings.hpp"

namespace tccp::slurm {

namespace {
std::optional<long long> to_number(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}
} // namespace

Duration parse_duration(std::string_view text) {
  std::string t = util::trim(text);
  std::string upper = t;
  for (auto& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (upper == "UNLIMITED" || upper == "INFINITE") {
    return Duration::unlimited();
  }
  long long days = 0;
  std::string_view rest = t;
  if (auto dash = rest.find('-'); dash != std::string_view::npos) {
    auto d = to_number(rest.substr(0, dash));
    if (!d) {
      return Duration::unknown();
    }
    days = *d;
    rest = rest.substr(dash + 1);
  }
  auto parts = util::split(rest, ':');
  std::vector<long long> nums;
  for (const auto& p : parts) {
    auto n = to_number(p);
    if (!n) {
      return Duration::unknown();
    }
    nums.push_back(*n);
  }
  long long s = 0;
  bool has_days = days > 0 || rest.size() != t.size();
  if (nums.size() == 3) {
    s = nums[0] * 3600 + nums[1] * 60 + nums[2];
  } else if (nums.size() == 2) {
    // squeue prints "MM:SS"; after a day part it is "D-HH:MM".
    s = has_days ? nums[0] * 3600 + nums[1] * 60 : nums[0] * 60 + nums[1];
  } else if (nums.size() == 1) {
    s = has_days ? nums[0] * 3600 : nums[0] * 60;
  } else {
    return Duration::unknown();
  }
  return Duration::of(days * 86400 + s);
}

std::string format_time_limit(long long seconds) {
  long long minutes = seconds <= 0 ? 1 : (seconds + 59) / 60;
  long long days = minutes / 1440;
  long long hours = (minutes % 1440) / 60;
  long long mins = minutes % 60;
  char buf[64];
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:00", days, hours, mins);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:00", hours, mins);
  }
  return buf;
}

std::optional<long long> parse_memory_mb(std::string_view text) {
  std::string t = util::trim(text);
  if (t.empty() || t == "N/A") {
    return std::nullopt;
  }
  double factor = 1.0;
  char last = static_cast<char>(std::toupper(static_cast<unsigned char>(t.back())));
  if (std::isalpha(static_cast<unsigned char>(last)) != 0) {
    switch (last) {
    case 'K': factor = 1.0 / 1024.0; break;
    case 'M': factor = 1.0; break;
    case 'G': factor = 1024.0; break;
    case 'T': factor = 1024.0 * 1024.0; break;
    default: return std::nullopt;
    }
    t.pop_back();
  }
  if (t.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || v < 0) {
    return std::nullopt;
  }
  return static_cast<long long>(std::ceil(v * factor - 1e-9));
}

std::optional<long long> parse_timestamp(std::string_view text) {
  std::string t = util::trim(text);
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) {
    t.pop_back();
  }
  std::tm tm{};
  int year = 0;
  int mon = 0;
  int day = 0;
  int hour = 0;
  int min = 0;
  int sec = 0;
  char tail = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &mon, &day, &hour, &min, &sec,
                  &tail) != 6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<long long>(::timegm(&tm));
}

std::string format_timestamp(long long epoch_seconds) {
  auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace tccp::slurm
