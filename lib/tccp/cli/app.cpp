#include "tccp/cli/app.hpp"

#include <csignal>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "tccp/util/tty.hpp"

namespace tccp::cli {

namespace {
// The action chosen by parsing; set by the subcommand callbacks.
struct Chosen {
  Action action;
};
thread_local Chosen* g_chosen = nullptr;

proto::Json describe_options(const CLI::App& app) {
  proto::Json opts = proto::Json::array();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) {
      continue; // hidden
    }
    proto::Json o;
    o["names"] = proto::Json::array();
    for (const auto& s : opt->get_snames()) {
      o["names"].push_back("-" + s);
    }
    for (const auto& l : opt->get_lnames()) {
      o["names"].push_back("--" + l);
    }
    if (opt->get_positional()) {
      o["positional"] = opt->get_name();
    }
    o["takes_value"] = opt->get_items_expected_max() != 0;
    if (opt->get_items_expected_max() != 0) {
      o["value_name"] = opt->get_type_name();
    }
    o["required"] = opt->get_required();
    o["description"] = opt->get_description();
    opts.push_back(o);
  }
  return opts;
}
} // namespace

Context::Context(std::string tool, Common& common)
    : m_tool(std::move(tool)), m_common(common), m_printer(m_tool) {
  m_printer.set_quiet(common.quiet);
}

bool Context::json_output() const {
  return m_common.json || !util::is_terminal(STDOUT_FILENO);
}

void Context::emit(const proto::Envelope& envelope, const std::function<void()>& human) const {
  if (json_output()) {
    proto::write_envelope(std::cout, envelope);
  } else {
    human();
    std::cout.flush();
  }
}

void set_action(CLI::App& app, Action action) {
  app.callback([action = std::move(action)]() {
    if (g_chosen != nullptr && !g_chosen->action) {
      g_chosen->action = action;
    }
  });
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      Action action) {
  CLI::App* sub = parent.add_subcommand(name, summary);
  set_action(*sub, std::move(action));
  return sub;
}

proto::Json describe(const CLI::App& app) {
  proto::Json j;
  j["name"] = app.get_name();
  j["summary"] = app.get_description();
  j["details"] = app.get_footer();
  j["options"] = describe_options(app);
  j["commands"] = proto::Json::array();
  for (const CLI::App* sub : app.get_subcommands({})) {
    j["commands"].push_back(describe(*sub));
  }
  return j;
}

int run_main(const std::string& tool, const std::string& summary, int argc, char** argv,
             const std::function<void(CLI::App&, Common&)>& define) {
  std::signal(SIGPIPE, SIG_IGN);
  Common common;
  Chosen chosen;
  g_chosen = &chosen;
  CLI::App app(summary, tool);
  app.set_version_flag("--version", std::string(tool) + " " + TCCP_VERSION);
  app.add_flag("--json", common.json, "Print JSON on stdout even on a terminal");
  app.add_flag("-q,--quiet", common.quiet, "No progress messages on stderr");
  app.add_flag("-v,--verbose", common.verbose, "More detail on stderr");
  // The common flags work after a subcommand too (`tccp-alloc list --json`):
  // every subcommand inherits fallthrough from the tool's app.
  app.fallthrough();
  bool want_describe = false;
  app.add_flag("--describe", want_describe, "Describe the flag table as JSON")->group("");
  Context ctx(tool, common);
  try {
    define(app, common);
    app.require_subcommand(0, 1);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::cout << app.help();
      return 0;
    } catch (const CLI::CallForVersion&) {
      std::cout << tool << ' ' << TCCP_VERSION << '\n';
      return 0;
    } catch (const CLI::ParseError& e) {
      ctx.printer().error(e.what());
      ctx.printer().hint("see '" + tool + " --help'");
      return static_cast<int>(ExitCode::usage);
    }
    if (want_describe) {
      std::cout << describe(app).dump(2) << '\n';
      return 0;
    }
    ctx.printer().set_quiet(common.quiet);
    if (!chosen.action) {
      std::cout << app.help();
      return app.get_subcommands({}).empty() ? 0 : static_cast<int>(ExitCode::usage);
    }
    return chosen.action(ctx);
  } catch (const proto::PassThrough& p) {
    // The tool that failed has said why on stderr; a terminal gets no JSON.
    if (ctx.json_output()) {
      std::cout << p.raw() << '\n';
      std::cout.flush();
    }
    return static_cast<int>(p.code());
  } catch (const Error& e) {
    ctx.printer().error(e.what());
    if (!e.hint().empty()) {
      ctx.printer().hint(e.hint());
    }
    if (ctx.json_output()) {
      proto::write_envelope(std::cout, proto::make_error(e, tool));
    }
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    ctx.printer().error(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::internal);
  }
}

} // namespace tccp::cli
