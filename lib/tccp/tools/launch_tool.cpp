#include "tccp/tools/launch_tool.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <system_error>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/cli/dispatch.hpp"
#include "tccp/config/project.hpp"
#include "tccp/slurm/duration.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

namespace {
// The helper's exit status when the allocation is gone.
constexpr int alloc_gone_status = 75;
// run_start's exit status when a belief of the client was wrong (the tree
// is not the one pushed; an allocation taken on trust is gone or busy).
constexpr int stale_status = 76;

// An allocation `tccp-alloc ensure --optimistic` took on trust (not asked
// of SLURM): run_start checks it in the round trip that starts the run.
bool allocation_on_trust(const proto::Json& allocation) {
  return allocation.is_object() && allocation.contains("verified") &&
         allocation["verified"].is_boolean() && !allocation["verified"].get<bool>();
}

std::string json_string(const proto::Json& j, const char* key) {
  if (j.contains(key) && j[key].is_string()) {
    return j[key].get<std::string>();
  }
  return {};
}

bool valid_env_name(const std::string& name) {
  if (name.empty() || (std::isdigit(static_cast<unsigned char>(name[0])) != 0)) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

std::string assign(const std::string& name, const std::string& value) {
  return name + "=" + util::shell_quote(value) + "\n";
}

std::string json_scalar(const proto::Json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_null()) {
    return {};
  }
  return v.dump();
}

long long now_epoch() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
} // namespace

std::vector<std::string> program_args(const proto::Json& data,
                                      const std::vector<std::string>& extra_args) {
  std::vector<std::string> args;
  if (data.contains("args")) {
    const auto& a = data["args"];
    if (a.is_array()) {
      for (const auto& x : a) {
        args.push_back(json_scalar(x));
      }
    } else if (a.is_string()) {
      try {
        args = util::shell_split(a.get<std::string>());
      } catch (const std::invalid_argument& e) {
        throw Error(ExitCode::config, std::string("args: ") + e.what());
      }
    }
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return args;
}

std::string build_run_spec(const proto::Json& data, const std::string& run_id,
                           const std::vector<std::string>& extra_args) {
  if (!data.contains("allocation") || !data["allocation"].is_object()) {
    throw Error(ExitCode::protocol, "the job document has no \"allocation\"",
                "pipe it through 'tccp-alloc ensure' first");
  }
  const auto& alloc = data["allocation"];
  const proto::Json cluster = data.contains("cluster") && data["cluster"].is_object()
                                  ? data["cluster"]
                                  : proto::Json::object();
  const proto::Json res = data.contains("resources") && data["resources"].is_object()
                              ? data["resources"]
                              : proto::Json::object();
  std::string script = json_string(data, "script");
  std::string package = json_string(data, "package");
  if (script.empty() && package.empty()) {
    throw Error(ExitCode::protocol, "the job document names neither a script nor a package");
  }
  long long time_limit_s = res.contains("time_limit_s") && res["time_limit_s"].is_number()
                               ? res["time_limit_s"].get<long long>()
                               : 3600;
  std::string digest;
  if (data.contains("sync") && data["sync"].is_object()) {
    digest = json_string(data["sync"], "tree_digest");
  }
  bool system_site = cluster.contains("system_site_packages") &&
                     cluster["system_site_packages"].is_boolean() &&
                     cluster["system_site_packages"].get<bool>();
  std::string python = json_string(cluster, "python");
  std::string runtime = json_string(cluster, "runtime");

  std::string spec;
  spec += assign("spec_project", json_string(data, "project"));
  spec += assign("spec_job", json_string(data, "job"));
  spec += assign("spec_run_id", run_id);
  spec += assign("spec_alloc", json_string(alloc, "id"));
  spec += assign("spec_node", json_string(alloc, "node"));
  spec +=
      assign("spec_type", json_string(data, "type").empty() ? "python" : json_string(data, "type"));
  spec += assign("spec_script", script);
  spec += assign("spec_package", package);
  spec += assign("spec_args", util::shell_join(program_args(data, extra_args)));
  spec += assign("spec_extra_args", util::shell_join(extra_args));
  spec += assign("spec_env_file", json_string(data, "env_file"));
  spec += assign("spec_output", json_string(data, "output"));
  spec += assign("spec_cache", json_string(data, "cache"));
  spec += assign("spec_time_limit", slurm::format_time_limit(time_limit_s));
  spec += assign("spec_time_limit_s", std::to_string(time_limit_s));
  spec += assign("spec_python", python.empty() ? "python3" : python);
  spec += assign("spec_pip_index", json_string(cluster, "pip_index"));
  spec += assign("spec_system_site_packages", system_site ? "true" : "false");
  spec += assign("spec_runtime", runtime.empty() ? "none" : runtime);
  spec += assign("spec_code_digest", digest);
  spec += assign("spec_alloc_check", allocation_on_trust(alloc) ? "1" : "");
  spec += "tccp_export_environment() {\n  :\n";
  auto add_env = [&](const std::string& name, const std::string& value) {
    if (!valid_env_name(name)) {
      throw Error(ExitCode::config, "environment: '" + name + "' is not a name a shell can export",
                  "use letters, digits and '_', not starting with a digit");
    }
    spec += "  export " + util::shell_quote(name + "=" + value) + "\n";
  };
  if (data.contains("environment")) {
    const auto& env = data["environment"];
    if (env.is_object()) {
      for (const auto& [k, v] : env.items()) {
        add_env(k, json_scalar(v));
      }
    } else if (env.is_array()) {
      for (const auto& item : env) {
        if (item.is_array() && item.size() == 2 && item[0].is_string()) {
          add_env(item[0].get<std::string>(), json_scalar(item[1]));
        } else if (item.is_object()) {
          add_env(json_string(item, "name"), json_scalar(item.value("value", proto::Json())));
        }
      }
    }
  }
  spec += "}\n";
  return spec;
}

namespace {
bool taken_on_trust(const proto::Json& data) {
  bool trusted_alloc = data.contains("allocation") && allocation_on_trust(data["allocation"]);
  bool deferred_sync =
      data.contains("sync") && data["sync"].is_object() && data["sync"].value("deferred", false);
  return trusted_alloc || deferred_sync;
}

// Runs a tool with `doc` on stdin (its messages go to our stderr) and
// returns the document it prints; its failure is ours, passed on as is.
proto::Envelope through_tool(const std::string& tool, const std::vector<std::string>& args,
                             const proto::Envelope& doc) {
  auto path = cli::locate_tool(tool);
  if (!path) {
    throw Error(ExitCode::internal, "'" + tool + "' is not installed next to tccp-launch");
  }
  std::vector<std::string> argv{*path};
  argv.insert(argv.end(), args.begin(), args.end());
  util::ProcessOptions po;
  po.stdin_data = doc.dump() + "\n";
  po.capture_stderr = false;
  util::ProcessResult res;
  try {
    res = util::run_process(argv, po);
  } catch (const std::system_error& e) {
    throw Error(ExitCode::internal, "cannot run " + tool + ": " + e.what());
  }
  if (res.exit_code != 0 && util::trim(res.out).empty()) {
    throw Error(ExitCode::failed, tool + " failed");
  }
  // Its error document (it has said why on stderr) passes on as is.
  std::istringstream in(res.out);
  auto out = proto::read_input(in, "job");
  if (res.exit_code != 0) {
    throw Error(ExitCode::failed, tool + " failed");
  }
  return out;
}

// What the run was to start from was taken on trust and turned out wrong:
// the allocation is asked of SLURM and the tree pushed, as tccp-alloc
// ensure | tccp-sync push would (same tools, same messages).
JobContext checked_again(const JobContext& context) {
  proto::Envelope doc = context.envelope;
  doc.data.erase("allocation");
  doc.data.erase("sync");
  auto with_alloc = through_tool("tccp-alloc", {"ensure"}, doc);
  auto with_sync = through_tool("tccp-sync", {"-q", "push"}, with_alloc);
  return context_from_envelope(with_sync);
}

proto::Envelope start_once(remote::Remote& remote, const JobContext& context,
                           const std::vector<std::string>& extra_args, const term::Printer* printer,
                           bool may_retry) {
  const auto& data = context.envelope.data;
  std::string job = context.job.empty() ? "main" : context.job;
  std::string run_id = make_run_id(job, now_epoch());
  std::string spec = build_run_spec(data, run_id, extra_args);
  auto r = call_helper(remote, context.remote_root, "run_start", {}, spec);
  bool trusted = taken_on_trust(data);
  if (may_retry && (r.exit_code == stale_status || (trusted && r.exit_code == alloc_gone_status))) {
    if (printer != nullptr) {
      printer->info(helper_message(r) + "; asking the cluster again");
    }
    return start_once(remote, checked_again(context), extra_args, printer, false);
  }
  if (r.exit_code == stale_status) {
    throw Error(ExitCode::failed, "cannot start the run: " + helper_message(r),
                "another push to this project may be running; run it again");
  }
  if (r.exit_code == alloc_gone_status) {
    throw Error(ExitCode::failed, helper_message(r),
                "run it again: tccp will find or create another allocation");
  }
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, "cannot start the run: " + helper_message(r));
  }
  RunRecord record = parse_run_record(r.out);
  if (record.id().empty()) {
    throw Error(ExitCode::protocol, "the cluster helper did not report the run it started");
  }
  proto::Envelope env = context.envelope;
  proto::Json run = run_to_json(record, now_epoch());
  run["extra_args"] = extra_args;
  env.data["run"] = run;
  return env;
}
} // namespace

proto::Envelope start_run(remote::Remote& remote, const JobContext& context,
                          const std::vector<std::string>& extra_args,
                          const term::Printer* printer) {
  return start_once(remote, context, extra_args, printer, true);
}

RunRecord cancel_run(remote::Remote& remote, const JobContext& context,
                     const std::string& selector) {
  auto r = call_helper(remote, context.remote_root, "run_cancel", {context.project, selector});
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, "cannot cancel: " + helper_message(r));
  }
  return parse_run_record(r.out);
}

namespace {
struct LaunchOptions {
  std::vector<std::string> extra;
  std::string job;
  bool all = false;
};

std::string describe_state(const proto::Json& run) {
  std::string state = run["state"].is_string() ? run["state"].get<std::string>() : "?";
  if (state == "timeout") {
    return "TIMEOUT";
  }
  return state;
}

std::string cell(const proto::Json& v) {
  if (v.is_null()) {
    return "-";
  }
  if (v.is_string()) {
    return v.get<std::string>();
  }
  return v.dump();
}

int start_action(cli::Context& ctx, const LaunchOptions& opts) {
  auto context = context_from_envelope(proto::read_input(std::cin, "job"));
  auto remote = connect(context);
  auto env = start_run(*remote, context, opts.extra, &ctx.printer());
  const auto& run = env.data["run"];
  ctx.printer().info("started " + cell(run["id"]) + " on " + cell(run["node"]) + " (allocation " +
                     cell(run["alloc_id"]) + ", step " + cell(run["step_id"]) + ")");
  proto::write_envelope(std::cout, env);
  return 0;
}

proto::Envelope runs_envelope(const JobContext& context, const Listing& listing) {
  proto::Envelope env;
  env.type = "runs";
  env.data["project"] = context.project;
  env.data["runs"] = proto::Json::array();
  for (const auto& run : listing.runs) {
    env.data["runs"].push_back(run_to_json(run, listing.now));
  }
  env.data["allocations"] = proto::Json::array();
  for (const auto& a : listing.allocations) {
    env.data["allocations"].push_back({{"id", a.id},
                                       {"state", a.state_name},
                                       {"node", a.node ? proto::Json(*a.node) : proto::Json()}});
  }
  return env;
}

int jobs_action(cli::Context& ctx, const LaunchOptions& opts) {
  auto context = load_context("");
  auto remote = connect(context);
  auto listing = list_runs(*remote, context);
  auto env = runs_envelope(context, listing);
  try {
    write_runs_cache(context.project, env.data["runs"]);
  } catch (const std::exception& e) {
    ctx.printer().warning(std::string("cannot update the local cache of runs: ") + e.what());
  }
  ctx.emit(env, [&] {
    const auto& runs = env.data["runs"];
    if (runs.empty()) {
      std::cout << "no runs of " << context.project << " yet\n";
      return;
    }
    // Newest first; by default the newest run of each job and every live one.
    std::vector<std::vector<std::string>> rows{
        {"JOB", "RUN", "STATE", "NODE", "DURATION", "EXIT", "NOTE"}};
    std::vector<proto::Json> sorted(runs.begin(), runs.end());
    std::sort(sorted.begin(), sorted.end(), [](const proto::Json& a, const proto::Json& b) {
      return cell(a["created_at"]) > cell(b["created_at"]);
    });
    std::set<std::string> seen_jobs;
    for (const auto& r : sorted) {
      std::string job = cell(r["job"]);
      std::string state = cell(r["state"]);
      bool live = state == "initializing" || state == "running";
      if (!opts.all && !live && !seen_jobs.insert(job).second) {
        continue;
      }
      seen_jobs.insert(job);
      std::string note;
      if (state == "lost" || state == "timeout" || state == "cancelled") {
        note = cell(r["reason"]);
      } else if (state == "failed" && !r["failed_stage"].is_null()) {
        note = "setup failed at " + cell(r["failed_stage"]);
      } else if (!r["signal"].is_null()) {
        note = "SIG" + cell(r["signal"]);
      }
      rows.push_back({job, cell(r["id"]), describe_state(r), cell(r["node"]),
                      r["duration_s"].is_null()
                          ? "-"
                          : term::format_duration(r["duration_s"].get<long long>()),
                      cell(r["exit_code"]), note == "-" ? "" : note});
    }
    std::cout << term::format_table(rows, util::colour_wanted(STDOUT_FILENO));
  });
  return 0;
}

int info_action(cli::Context& ctx, const LaunchOptions& opts) {
  auto context = load_context(opts.job);
  auto remote = connect(context);
  auto r = call_helper(*remote, context.remote_root, "run_info", {context.project, opts.job});
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, helper_message(r));
  }
  long long now = 0;
  std::vector<std::vector<std::string>> stages;
  std::optional<slurm::SqueueJob> alloc;
  std::vector<slurm::SacctRecord> sacct;
  for (const auto& line : util::split(r.out, '\n')) {
    if (util::starts_with(line, "sacct|")) {
      if (auto rec = slurm::parse_sacct_line(line.substr(6))) {
        sacct.push_back(*rec);
      }
    }
    if (util::starts_with(line, "now|")) {
      now = std::atoll(line.c_str() + 4);
    } else if (util::starts_with(line, "stage|")) {
      auto f = util::split(line, '|');
      if (f.size() >= 4) {
        stages.push_back({f[1], f[2], f[3]});
      }
    } else if (util::starts_with(line, "alloc|")) {
      alloc = slurm::parse_squeue_job(line.substr(6));
    }
  }
  RunRecord record = parse_run_record(r.out);
  {
    // The cluster's truth about a run that still looks alive.
    Listing one;
    one.now = now;
    one.runs.push_back(record);
    if (alloc) {
      one.allocations.push_back(*alloc);
    }
    one.sacct = sacct;
    judge_runs(one);
    record = one.runs.front();
  }
  proto::Envelope env;
  env.type = "run_info";
  env.data["run"] = run_to_json(record, now);
  env.data["init_stages"] = proto::Json::array();
  for (const auto& s : stages) {
    env.data["init_stages"].push_back(
        {{"stage", s[0]}, {"seconds", std::atof(s[1].c_str())}, {"result", s[2]}});
  }
  env.data["allocation"] = nullptr;
  if (alloc) {
    env.data["allocation"] = {{"id", alloc->id},
                              {"state", alloc->state_name},
                              {"node", alloc->node ? proto::Json(*alloc->node) : proto::Json()},
                              {"time_left_s", alloc->time_left.as_optional()
                                                  ? proto::Json(*alloc->time_left.as_optional())
                                                  : proto::Json()}};
  }
  ctx.emit(env, [&] {
    const auto& run = env.data["run"];
    std::vector<std::vector<std::string>> rows;
    for (const char* key :
         {"id", "job", "state", "node", "alloc_id", "step_id", "created_at", "started_at",
          "ended_at", "exit_code", "signal", "reason", "code_digest", "venv", "remote_dir"}) {
      if (!run[key].is_null()) {
        rows.push_back({std::string(key) + ":", cell(run[key])});
      }
    }
    if (!run["duration_s"].is_null()) {
      rows.push_back({"duration:", term::format_duration(run["duration_s"].get<long long>())});
    }
    if (alloc) {
      rows.push_back(
          {"allocation:",
           alloc->id + " " + util::to_lower(alloc->state_name) +
               (alloc->time_left.as_optional()
                    ? ", " + term::format_duration(*alloc->time_left.as_optional()) + " left"
                    : "")});
    }
    std::cout << term::format_table(rows, false);
    if (!stages.empty()) {
      std::vector<std::vector<std::string>> st{{"STAGE", "SECONDS", "RESULT"}};
      st.insert(st.end(), stages.begin(), stages.end());
      std::cout << "\ninit stages:\n" << term::format_table(st, util::colour_wanted(STDOUT_FILENO));
    }
  });
  return 0;
}

int cancel_action(cli::Context& ctx, const LaunchOptions& opts) {
  auto context = load_context(opts.job);
  auto remote = connect(context);
  auto record = cancel_run(*remote, context, opts.job);
  proto::Envelope env;
  env.type = "run";
  env.data["run"] = run_to_json(record, 0);
  ctx.emit(env, [&] {
    std::cout << record.id() << ": " << record.state();
    if (!record.get("reason").empty()) {
      std::cout << " (" << record.get("reason") << ")";
    }
    std::cout << '\n';
  });
  return 0;
}

int restart_action(cli::Context& ctx, const LaunchOptions& opts) {
  auto context = load_context(opts.job);
  auto remote = connect(context);
  auto record = cancel_run(*remote, context, opts.job);
  ctx.printer().info((record.state() == "cancelled" ? "cancelled " + record.id()
                                                    : record.id() + " had " + record.state()) +
                     "; starting " + record.get("job") + " again");
  std::vector<std::string> user_args{record.get("job")};
  try {
    auto extra = util::shell_split(record.get("extra_args"));
    user_args.insert(user_args.end(), extra.begin(), extra.end());
  } catch (const std::invalid_argument&) {
    ctx.printer().warning("cannot read the previous run's extra arguments; running without them");
  }
  auto verb = cli::find_verb("run");
  if (!verb) {
    throw Error(ExitCode::internal, "the 'run' verb is missing");
  }
  std::vector<std::vector<std::string>> argvs;
  for (const auto& stage : verb->stages) {
    auto argv = cli::expand_stage(stage, user_args);
    auto path = cli::locate_tool(argv.front());
    if (!path) {
      throw Error(ExitCode::internal, "'" + argv.front() + "' is not installed next to tccp");
    }
    argv.front() = *path;
    argvs.push_back(std::move(argv));
  }
  return cli::run_pipeline(argvs);
}
// `ssh [JOB] [CMD...]`: a terminal (or CMD) on the node of JOB's newest
// live run, as a step of its allocation (no second login, and the step
// sees the job's GPUs). The first word is the job when it names one of the
// project's jobs or a run; otherwise every word is the command and the
// newest live run of the project is meant.
int ssh_action(const std::vector<std::string>& words) {
  auto context = load_context("");
  std::vector<std::string> names;
  try {
    auto global = config::load_global();
    names = config::load_project(std::filesystem::current_path(), global).job_names();
  } catch (const Error&) {
    // No readable tccp.yaml here: runs can still be named by their ids.
  }
  auto remote = connect(context);
  const auto listing = list_runs(*remote, context);
  std::string selector;
  std::vector<std::string> command = words;
  if (!words.empty()) {
    const std::string& first = words.front();
    bool named = std::find(names.begin(), names.end(), first) != names.end() ||
                 std::any_of(listing.runs.begin(), listing.runs.end(), [&](const RunRecord& r) {
                   return r.id() == first || r.get("job") == first;
                 });
    if (named) {
      selector = first;
      command.erase(command.begin());
    }
  }
  std::vector<std::string> args{context.project, newest_live_run(listing, selector).id()};
  args.insert(args.end(), command.begin(), command.end());
  if (at_terminal()) {
    return interactive_helper(*remote, context.remote_root, "node_shell", args);
  }
  if (command.empty()) {
    throw Error(ExitCode::usage, "a shell on the node needs a terminal",
                "give a command: tccp ssh [job] CMD...");
  }
  auto r = stream_helper(
      *remote, context.remote_root, "node_shell", args,
      [](std::string_view d) {
        std::cout.write(d.data(), static_cast<std::streamsize>(d.size())).flush();
      },
      [](std::string_view d) {
        std::cerr.write(d.data(), static_cast<std::streamsize>(d.size())).flush();
      });
  return r.exit_code;
}
} // namespace

int launch_main(int argc, char** argv) {
  static LaunchOptions opts;
  return cli::run_main(
      "tccp-launch", "start, cancel and inspect runs", argc, argv, [](CLI::App& app, cli::Common&) {
        auto* start = cli::add_command(app, "start",
                                       "read a job document with an allocation and start the run",
                                       [](cli::Context& ctx) { return start_action(ctx, opts); });
        start->add_option("extra", opts.extra, "arguments appended to the job's args (after --)");
        auto* cancel = cli::add_command(app, "cancel", "stop a run, during init or while it runs",
                                        [](cli::Context& ctx) { return cancel_action(ctx, opts); });
        cancel->add_option("job", opts.job, "a job name (its newest run) or a run id")->required();
        auto* restart =
            cli::add_command(app, "restart", "cancel a run and run its job again",
                             [](cli::Context& ctx) { return restart_action(ctx, opts); });
        restart->add_option("job", opts.job, "a job name or run id (default: the newest run)");
        auto* jobs = cli::add_command(app, "jobs", "list the project's runs",
                                      [](cli::Context& ctx) { return jobs_action(ctx, opts); });
        jobs->add_flag("-a,--all", opts.all, "every run, not only the newest of each job");
        auto* open = cli::add_command(
            app, "open", "a shell on a run's node, in its directory and environment",
            [](cli::Context&) {
              auto context = load_context(opts.job);
              if (!at_terminal()) {
                throw Error(ExitCode::usage, "'open' needs a terminal");
              }
              auto remote = connect(context);
              return interactive_helper(*remote, context.remote_root, "open",
                                        {context.project, opts.job});
            });
        open->add_option("job", opts.job, "a job name or run id (default: the newest run)");
        static CLI::App* ssh = nullptr;
        ssh = cli::add_command(app, "ssh",
                               "ssh [JOB] [CMD...]: a terminal (or CMD) on the node of a job's "
                               "running run (default: the newest)",
                               [](cli::Context&) { return ssh_action(ssh->remaining()); });
        ssh->prefix_command();
        ssh->fallthrough(false);
        auto* info = cli::add_command(app, "info", "details of a run",
                                      [](cli::Context& ctx) { return info_action(ctx, opts); });
        info->add_option("job", opts.job, "a job name or run id (default: the newest run)");
      });
}

} // namespace tccp::tools
