#include "tccp/core/error.hpp"

#include <array>
#include <utility>

namespace tccp {

namespace {
constexpr std::array<std::pair<ExitCode, const char*>, 10> names{{
    {ExitCode::ok, "ok"},
    {ExitCode::failed, "failed"},
    {ExitCode::usage, "usage"},
    {ExitCode::config, "config"},
    {ExitCode::protocol, "protocol"},
    {ExitCode::auth, "auth"},
    {ExitCode::unreachable, "unreachable"},
    {ExitCode::refused, "refused"},
    {ExitCode::internal, "internal"},
    {ExitCode::interrupted, "interrupted"},
}};
} // namespace

const char* exit_code_name(ExitCode code) {
  for (const auto& [c, n] : names) {
    if (c == code) {
      return n;
    }
  }
  return "failed";
}

ExitCode exit_code_from_name(const std::string& name) {
  for (const auto& [c, n] : names) {
    if (name == n) {
      return c;
    }
  }
  return ExitCode::failed;
}

} // namespace tccp
