#pragma once
#include <string>
/// The `tccp>` prompt: each line is a dispatcher command (`run train`,
/// `jobs`, `gpus info`), run through the same verb table as `tccp <verb>`.

namespace tccp::cli {

/// Reads commands until EOF or `exit`/`quit`; returns the status of the last
/// command.
int repl_main();

/// Runs one REPL line (already read); returns its status. Exposed for tests.
int repl_run_line(const std::string& line);

} // namespace tccp::cli
