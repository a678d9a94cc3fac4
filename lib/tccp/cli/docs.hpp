#pragma once
/// Man pages and shell completions generated from the tools' own flag
/// tables (the JSON of `tccp-<tool> --describe`, see describe()) and the
/// dispatcher's verb table, so that they cannot drift from the code.
/// `make docs` runs `tccp --gen-docs .`; tests/bats/docs.bats checks that
/// the committed man/ and completions/ match.
#include <filesystem>
#include <string>
#include <vector>

#include "tccp/proto/envelope.hpp"

namespace tccp::cli {

/// The man page (roff, section 1) of one tool from its describe() JSON.
std::string render_man_page(const proto::Json& tool, const std::string& version);

/// The man page of `tccp`: the verbs and the tools.
std::string render_dispatcher_man_page(const std::string& version);

/// One bash completion script for `tccp` and each described tool.
std::string render_bash_completion(const std::vector<proto::Json>& tools);

/// One zsh completion function file (`_tccp`) for `tccp` and each tool.
std::string render_zsh_completion(const std::vector<proto::Json>& tools);

/// Writes man/man1/tccp.1, man/man1/tccp-<tool>.1, completions/tccp.bash
/// and completions/_tccp under `root` for tccp and every tool found next to
/// the running tccp (tools not built yet are left out). Returns the paths
/// written, relative to `root`. Throws Error(internal) when a tool's
/// --describe fails.
std::vector<std::string> generate_docs(const std::filesystem::path& root);

} // namespace tccp::cli
