#pragma once
/// The `tccp` dispatcher: `tccp <tool> ...` execs `tccp-<tool>`, and friendly
/// verbs (`run`, `view`, `jobs`, ...) expand to one tool call or a pipeline
/// of tools. Adding a verb is one line in the table in dispatch.cpp.
#include <optional>
#include <string>
#include <vector>

namespace tccp::cli {

/// One process of a verb. In `args`, "$1" stands for the first user
/// argument (dropped when there is none), "$rest" for the user arguments
/// after the first, and "$@" for all of them.
struct Stage {
  std::string tool; ///< e.g. "tccp-config"
  std::vector<std::string> args;
};

struct Verb {
  std::string name;
  std::string summary;
  std::vector<Stage> stages; ///< one stage = exec; several = a pipeline
};

struct Tool {
  std::string name; ///< without the "tccp-" prefix
  std::string summary;
};

/// The tools of the toolkit, in the order `tccp --help` lists them.
const std::vector<Tool>& tools();

/// The friendly verbs.
const std::vector<Verb>& verbs();

/// Finds a verb by name.
std::optional<Verb> find_verb(const std::string& name);

/// Expands the placeholders of a stage with the user's arguments.
std::vector<std::string> expand_stage(const Stage& stage,
                                      const std::vector<std::string>& user_args);

/// Where `tccp-<name>` lives: the dispatcher's own directory first, then
/// PATH. nullopt when it is nowhere.
std::optional<std::string> locate_tool(const std::string& tool);

/// The dispatcher's main: returns the exit status (the child's status when
/// a tool ran). With no arguments on a terminal, starts the REPL.
int dispatch_main(int argc, char** argv);

/// Runs the stages as a pipeline (stdin of the first is ours, stdout of the
/// last is ours) and returns the status of the last stage, or the first
/// failing status when the last one succeeded.
int run_pipeline(const std::vector<std::vector<std::string>>& argvs);

} // namespace tccp::cli
