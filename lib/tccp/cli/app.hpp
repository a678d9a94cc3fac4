#pragma once
/// run_main(): the frame of every tccp tool. It owns argument parsing (CLI11),
/// the common flags, the output mode, exit codes and the one top-level catch.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "tccp/proto/envelope.hpp"
#include "tccp/term/printer.hpp"

namespace tccp::cli {

/// Flags every tool has.
struct Common {
  bool json = false;  ///< --json: force JSON on stdout even on a terminal
  bool quiet = false; ///< -q: no progress on stderr
  int verbose = 0;    ///< -v: more detail on stderr
};

/// What a subcommand's action sees.
class Context {
public:
  Context(std::string tool, Common& common);

  const std::string& tool() const { return m_tool; }
  const Common& common() const { return m_common; }
  term::Printer& printer() { return m_printer; }

  /// JSON on stdout when --json, or when stdout is not a terminal.
  bool json_output() const;

  /// Writes `envelope` in JSON mode, or calls `human` to print for people.
  void emit(const proto::Envelope& envelope, const std::function<void()>& human) const;

private:
  std::string m_tool;
  Common& m_common;
  term::Printer m_printer;
};

using Action = std::function<int(Context&)>;

/// Makes `action` run when `app` (the tool itself or a subcommand) is the
/// one chosen on the command line.
void set_action(CLI::App& app, Action action);

/// Declares subcommand `name` on `parent`; `action` runs when it is chosen.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      Action action);

/// Parses argv, runs the chosen action and maps every failure to its exit
/// code: tccp::Error to its code (message and hint on stderr, and an error
/// envelope on stdout in JSON mode), a pass-through error envelope from
/// stdin unchanged with its code, CLI11 usage errors to 2, anything else
/// to 70. `define` declares the tool's subcommands and options.
int run_main(const std::string& tool, const std::string& summary, int argc, char** argv,
             const std::function<void(CLI::App&, Common&)>& define);

/// Describes the tool's flag table as JSON (subcommands, options, help),
/// printed by the hidden --describe flag; completions and man pages are
/// generated from it.
proto::Json describe(const CLI::App& app);

} // namespace tccp::cli
