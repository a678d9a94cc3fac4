#pragma once
/// `tccp register` (tccp-config init): a new project's starting files.
#include <filesystem>
#include <string>
#include <vector>

namespace tccp::config {

struct ScaffoldResult {
  std::vector<std::string> created; ///< file names written, in order
  std::vector<std::string> kept;    ///< file names that existed and were left alone
};

/// Creates tccp.yaml, requirements.txt, .gitignore (output/ and .env) and,
/// with a new tccp.yaml, the example script main.py, in `dir`. Never
/// overwrites: a file that exists (even one created meanwhile) is kept.
/// Throws Error(config) when `dir` is not a writable directory.
ScaffoldResult scaffold_project(const std::filesystem::path& dir);

/// The tccp.yaml that scaffold_project() writes.
const std::string& scaffold_tccp_yaml();

} // namespace tccp::config
