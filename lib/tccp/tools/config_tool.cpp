#include "tccp/tools/config_tool.hpp"

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/config/project.hpp"
#include "tccp/config/scaffold.hpp"
#include "tccp/config/values.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

namespace {
namespace fs = std::filesystem;

struct Options {
  std::string directory; ///< -C
  std::optional<std::string> job;
  bool show_origin = false;
};

fs::path start_dir(const Options& options) {
  if (options.directory.empty()) {
    return fs::current_path();
  }
  std::error_code ec;
  if (!fs::is_directory(options.directory, ec)) {
    throw Error(ExitCode::usage, "cannot change to '" + options.directory + "': no such directory");
  }
  return fs::absolute(options.directory).lexically_normal();
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

std::string gpu_text(const config::Resources& r) {
  if (r.gpu_count == 0) {
    return "none";
  }
  return r.gpu_type.value_or("any") + ":" + std::to_string(r.gpu_count);
}

std::string join_ints(const std::vector<int>& values) {
  std::vector<std::string> parts;
  for (int v : values) {
    parts.push_back(std::to_string(v));
  }
  return util::join(parts, ", ");
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::cout << term::format_table(rows, util::colour_wanted(STDOUT_FILENO));
}

void print_job(const config::JobSpec& job, bool show_origin) {
  std::vector<std::vector<std::string>> rows;
  if (show_origin) {
    rows.push_back({"FIELD", "VALUE", "ORIGIN"});
  } else {
    rows.push_back({"FIELD", "VALUE"});
  }
  auto row = [&](const std::string& label, const std::string& value, const std::string& path) {
    std::vector<std::string> r{label, value};
    if (show_origin) {
      auto origin = job.origin_of(path);
      r.emplace_back(origin ? config::origin_name(*origin) : "");
    }
    rows.push_back(std::move(r));
  };
  const auto& r = job.resources;
  row("project", job.project, "project");
  row("project_dir", job.project_dir, "project_dir");
  row("job", job.job, "job");
  row("type", job.type, "type");
  if (job.script) {
    row("script", *job.script, "script");
  } else {
    row("package", job.package.value_or(""), "package");
  }
  row("args", or_dash(util::shell_join(job.args)), "args");
  row("env", job.env_file, "env_file");
  row("output", job.output, "output");
  row("cache", job.cache, "cache");
  row("rodata", or_dash(util::join(job.rodata, ", ")), "rodata");
  for (const auto& [name, value] : job.environment) {
    row("environment." + name, value, "environment." + name);
  }
  row("ports", or_dash(join_ints(job.ports)), "ports");
  row("gpu", gpu_text(r), "resources.gpu_type");
  row("memory", config::format_memory(r.memory_mb), "resources.memory_mb");
  row("cpus", std::to_string(r.cpus), "resources.cpus");
  row("time", config::format_time_limit(r.time_limit_s), "resources.time_limit_s");
  row("partition", r.partition.value_or("(cluster default)"), "resources.partition");
  row("exclude_nodes", or_dash(util::join(r.exclude_nodes, ", ")), "resources.exclude_nodes");
  row("cluster", job.cluster.host.empty() ? "(not set up: run 'tccp setup')" : job.cluster.host,
      "cluster");
  print_table(rows);
}

void warn_all(cli::Context& ctx, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) {
    ctx.printer().warning(w);
  }
}

int resolve(cli::Context& ctx, const Options& options) {
  auto global = config::load_global();
  auto project = config::load_project(start_dir(options), global);
  config::JobSpec job = config::resolve_job(project, global, options.job);
  auto with = options.show_origin ? config::WithOrigins::yes : config::WithOrigins::no;
  proto::Envelope env = config::job_envelope(job, with);
  env.warnings = config::check_files(job);
  warn_all(ctx, env.warnings);
  ctx.emit(env, [&] { print_job(job, options.show_origin); });
  return 0;
}

int jobs(cli::Context& ctx, const Options& options) {
  auto global = config::load_global();
  auto project = config::load_project(start_dir(options), global);
  proto::Envelope env;
  env.type = "jobs";
  env.data["project"] = project.display_name();
  env.data["project_dir"] = project.dir.string();
  auto names = project.job_names();
  env.data["default_job"] = names.size() == 1 ? proto::Json(names.front()) : proto::Json(nullptr);
  env.data["jobs"] = proto::Json::array();
  std::vector<std::vector<std::string>> rows{
      {"JOB", "RUNS", "ARGS", "GPU", "MEMORY", "CPUS", "TIME"}};
  for (const auto& name : names) {
    config::JobSpec job = config::resolve_job(project, global, name);
    proto::Json full = config::job_to_json(job);
    proto::Json entry;
    for (const char* key : {"job", "script", "package", "args", "ports", "resources"}) {
      entry[key] = full[key];
    }
    env.data["jobs"].push_back(entry);
    const auto& r = job.resources;
    rows.push_back({name, job.script ? *job.script : "-m " + job.package.value_or(""),
                    or_dash(util::shell_join(job.args)), gpu_text(r),
                    config::format_memory(r.memory_mb), std::to_string(r.cpus),
                    config::format_time_limit(r.time_limit_s)});
  }
  ctx.emit(env, [&] { print_table(rows); });
  return 0;
}

// The REPL's `config`: every job of the project, resolved.
int show(cli::Context& ctx, const Options& options) {
  auto global = config::load_global();
  auto project = config::load_project(start_dir(options), global);
  proto::Envelope env;
  env.type = "project";
  env.data["project"] = project.display_name();
  env.data["project_dir"] = project.dir.string();
  env.data["file"] = (project.dir / "tccp.yaml").string();
  env.data["jobs"] = proto::Json::array();
  std::vector<config::JobSpec> specs;
  for (const auto& name : project.job_names()) {
    specs.push_back(config::resolve_job(project, global, name));
    auto with = options.show_origin ? config::WithOrigins::yes : config::WithOrigins::no;
    env.data["jobs"].push_back(config::job_to_json(specs.back(), with));
    auto found = config::check_files(specs.back());
    env.warnings.insert(env.warnings.end(), found.begin(), found.end());
  }
  warn_all(ctx, env.warnings);
  ctx.emit(env, [&] {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (i > 0) {
        std::cout << '\n';
      }
      print_job(specs[i], options.show_origin);
    }
  });
  return 0;
}

int validate(cli::Context& ctx, const Options& options) {
  auto global = config::load_global();
  auto project = config::load_project(start_dir(options), global);
  proto::Envelope env;
  env.type = "validation";
  env.data["valid"] = true;
  env.data["file"] = (project.dir / "tccp.yaml").string();
  env.data["project"] = project.display_name();
  env.data["jobs"] = project.job_names();
  for (const auto& name : project.job_names()) {
    auto found = config::check_files(config::resolve_job(project, global, name));
    env.warnings.insert(env.warnings.end(), found.begin(), found.end());
  }
  warn_all(ctx, env.warnings);
  ctx.emit(env, [&] {
    auto names = project.job_names();
    std::cout << project.file << " is valid: project '" << project.display_name() << "', "
              << names.size() << (names.size() == 1 ? " job: " : " jobs: ")
              << util::join(names, ", ") << '\n';
  });
  return 0;
}

int init(cli::Context& ctx, const Options& options) {
  fs::path dir = start_dir(options);
  config::ScaffoldResult result = config::scaffold_project(dir);
  proto::Envelope env;
  env.type = "scaffold";
  env.data["project_dir"] = dir.string();
  env.data["created"] = result.created;
  env.data["kept"] = result.kept;
  ctx.emit(env, [&] {
    for (const auto& name : result.created) {
      std::cout << "created " << name << '\n';
    }
    for (const auto& name : result.kept) {
      std::cout << "kept    " << name << " (exists)\n";
    }
  });
  if (result.created.empty()) {
    ctx.printer().info("nothing to do: every file exists");
  } else {
    ctx.printer().info("next: edit tccp.yaml, then 'tccp run main'");
  }
  return 0;
}

int cluster(cli::Context& ctx) {
  config::ClusterProfile profile = config::load_cluster_profile();
  proto::Envelope env;
  env.type = "cluster";
  env.data = config::cluster_to_json(profile);
  ctx.emit(env, [&] {
    std::vector<std::vector<std::string>> rows{{"FIELD", "VALUE"}};
    for (const auto& [key, value] : env.data.items()) {
      std::string text;
      if (value.is_null() || (value.is_array() && value.empty())) {
        text = "-";
      } else if (value.is_string()) {
        text = value.get<std::string>();
      } else {
        text = value.dump();
      }
      rows.push_back({key, text});
    }
    print_table(rows);
  });
  return 0;
}
} // namespace

int config_main(int argc, char** argv) {
  Options options;
  return cli::run_main(
      "tccp-config", "Resolve, validate and scaffold tccp.yaml", argc, argv,
      [&](CLI::App& app, cli::Common&) {
        app.add_option("-C", options.directory,
                       "Run in DIR (the project is the nearest DIR or parent with tccp.yaml)")
            ->type_name("DIR");
        app.footer(
            "tccp-config reads tccp.yaml (in DIR or the nearest parent directory holding one)\n"
            "and $TCCP_HOME/config.yaml (default ~/.tccp/config.yaml). Each value comes from,\n"
            "later winning: tccp's defaults, the global config, the top of tccp.yaml, the\n"
            "job's block under jobs:. Asking for a GPU raises memory to 32G (64G on a100-80gb\n"
            "and h100), cpus to 4 and the partition to the cluster's GPU partition, unless\n"
            "those are written somewhere.\n"
            "\n"
            "Bad input is reported as FILE:LINE:COL: FIELD: PROBLEM, expected WHAT, with a\n"
            "hint for near misses, and exits 3. Off a terminal, or with --json, stdout is\n"
            "one JSON document (see docs/protocol.md).");
        app.add_flag("--show-origin", options.show_origin,
                     "Show where each value comes from: default, global, project or job");
        // Without a command: the whole project, as the REPL's `config` prints it.
        cli::set_action(app, [&](cli::Context& ctx) { return show(ctx, options); });
        auto* res = cli::add_command(app, "resolve", "Print the resolved job (a job document)",
                                     [&](cli::Context& ctx) { return resolve(ctx, options); });
        res->add_option("job", options.job, "The job (default: the only one, or main)");
        cli::add_command(app, "show", "Print every job of the project, resolved",
                         [&](cli::Context& ctx) { return show(ctx, options); });
        cli::add_command(app, "jobs", "List the project's jobs",
                         [&](cli::Context& ctx) { return jobs(ctx, options); });
        cli::add_command(app, "validate", "Check tccp.yaml and ~/.tccp/config.yaml (exit 0 or 3)",
                         [&](cli::Context& ctx) { return validate(ctx, options); });
        cli::add_command(app, "init",
                         "Create tccp.yaml, requirements.txt, main.py and .gitignore (never "
                         "overwrites)",
                         [&](cli::Context& ctx) { return init(ctx, options); });
        cli::add_command(app, "cluster", "Print the cluster profile of ~/.tccp/config.yaml",
                         [&](cli::Context& ctx) { return cluster(ctx); });
      });
}

} // namespace tccp::tools
