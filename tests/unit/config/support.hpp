#pragma once
// Helpers for the config tests: parse YAML text as tccp.yaml of a project at
// /home/user/demo, with an optional global config.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "tccp/config/project.hpp"

namespace tccp::config::fixtures {

inline const char* project_dir = "/home/user/demo";
inline const char* global_file = "/home/user/.tccp/config.yaml";

inline GlobalConfig global(const std::string& yaml = "") {
  return parse_global(yaml, global_file);
}

inline Project project(const std::string& yaml, const std::string& global_yaml = "") {
  return parse_project(yaml, "tccp.yaml", project_dir, global(global_yaml));
}

inline JobSpec resolve(const std::string& yaml, const std::optional<std::string>& job = {},
                       const std::string& global_yaml = "") {
  GlobalConfig g = global(global_yaml);
  return resolve_job(parse_project(yaml, "tccp.yaml", project_dir, g), g, job);
}

/// The error that resolving throws; fails the test when none is thrown.
inline Error error_of(const std::string& yaml, const std::optional<std::string>& job = {},
                      const std::string& global_yaml = "") {
  try {
    resolve(yaml, job, global_yaml);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << yaml;
  return Error(ExitCode::ok, "");
}

} // namespace tccp::config::fixtures
