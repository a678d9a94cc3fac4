#include "tccp/tools/alloc_tool.hpp"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <tuple>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

namespace {
std::string json_string(const proto::Json& j, const char* key) {
  if (j.contains(key) && j[key].is_string()) {
    return j[key].get<std::string>();
  }
  return {};
}

long long json_number(const proto::Json& j, const char* key, long long fallback) {
  if (j.contains(key) && j[key].is_number()) {
    return j[key].get<long long>();
  }
  return fallback;
}

std::string describe_resources(const slurm::SqueueJob& j) {
  std::string s;
  if (j.gpu.count > 0) {
    s += std::to_string(j.gpu.count) + "x" + (j.gpu.type.empty() ? "gpu" : j.gpu.type) + " ";
  }
  s += std::to_string(j.cpus) + " cpu";
  if (j.memory_mb) {
    s += " " + (*j.memory_mb % 1024 == 0 ? std::to_string(*j.memory_mb / 1024) + "G"
                                         : std::to_string(*j.memory_mb) + "M");
  }
  return s;
}

std::string describe_request(const slurm::ResourceRequest& r) {
  std::string s;
  if (r.gpu.count > 0) {
    s += std::to_string(r.gpu.count) + " " + (r.gpu.type.empty() ? "" : r.gpu.type + " ") + "GPU" +
         (r.gpu.count > 1 ? "s" : "") + ", ";
  }
  s += std::to_string(r.cpus) + " CPU" + (r.cpus > 1 ? "s" : "") + ", " +
       std::to_string(r.memory_mb) + " MB, " + term::format_duration(r.time_limit_s);
  if (!r.partition.empty()) {
    s += " on " + r.partition;
  }
  return s;
}

// Shows the wait for a pending allocation: one line, rewritten in place on a
// terminal, a new line on each change of reason otherwise.
class WaitDisplay {
public:
  explicit WaitDisplay(bool quiet) : m_quiet(quiet), m_tty(util::is_terminal(STDERR_FILENO)) {}

  void show(const std::string& id, long long elapsed, const std::string& state,
            const std::string& reason) {
    if (m_quiet || (elapsed == 0 && reason == "None")) {
      return;
    }
    std::string words =
        state == "PENDING" ? slurm::describe_pending_reason(reason) : util::to_lower(state);
    std::string line = "waiting for allocation " + id + " (" + reason + ": " + words + ") " +
                       term::format_duration(elapsed);
    if (m_tty) {
      std::cerr << "\r\033[K" << line << std::flush;
      m_open = true;
    } else if (reason != m_last_reason) {
      std::cerr << line << '\n';
    }
    m_last_reason = reason;
  }

  void done() {
    if (m_open) {
      std::cerr << "\r\033[K" << std::flush;
      m_open = false;
    }
  }

  ~WaitDisplay() { done(); }
  WaitDisplay(const WaitDisplay&) = delete;
  WaitDisplay& operator=(const WaitDisplay&) = delete;

private:
  bool m_quiet;
  bool m_tty;
  bool m_open = false;
  std::string m_last_reason;
};

struct WaitOutcome {
  std::optional<std::string> submitted_id;
  std::optional<slurm::SqueueJob> running;
  std::string gone_state;
  std::string gone_reason;
  long long waited_s = 0;
};

// Streams a helper command that prints submitted|/wait|/alloc|/gone| lines.
WaitOutcome follow_wait(remote::Remote& remote, const std::string& root, const std::string& command,
                        const std::vector<std::string>& args, const term::Printer& printer,
                        bool quiet, std::string* err_text, int* exit_code) {
  WaitOutcome out;
  WaitDisplay display(quiet);
  std::string buffer;
  std::string current_id = args.empty() ? "" : args.front();
  auto on_line = [&](const std::string& line) {
    auto f = util::split(line, '|');
    if (f.empty()) {
      return;
    }
    if (f[0] == "submitted" && f.size() >= 2) {
      out.submitted_id = f[1];
      current_id = f[1];
      if (!quiet) {
        printer.info("submitted allocation " + f[1]);
      }
    } else if (f[0] == "wait" && f.size() >= 4) {
      out.waited_s = std::atoll(f[1].c_str());
      display.show(current_id, out.waited_s, f[2], f[3]);
    } else if (f[0] == "alloc") {
      out.running = slurm::parse_squeue_job(line.substr(6));
    } else if (f[0] == "gone" && f.size() >= 3) {
      out.gone_state = f[1];
      out.gone_reason = f[2];
    }
  };
  auto r = stream_helper(
      remote, root, command, args,
      [&](std::string_view d) {
        buffer.append(d);
        std::size_t nl = 0;
        while ((nl = buffer.find('\n')) != std::string::npos) {
          on_line(buffer.substr(0, nl));
          buffer.erase(0, nl + 1);
        }
      },
      [&](std::string_view d) { err_text->append(d); });
  display.done();
  *exit_code = r.exit_code;
  return out;
}
} // namespace

slurm::ResourceRequest request_from_job(const proto::Json& data) {
  if (!data.contains("resources") || !data["resources"].is_object()) {
    throw Error(ExitCode::protocol, "the job document has no \"resources\"");
  }
  const auto& res = data["resources"];
  slurm::ResourceRequest r;
  r.gpu.type = json_string(res, "gpu_type");
  r.gpu.count = static_cast<int>(json_number(res, "gpu_count", 0));
  if (!r.gpu.type.empty() && r.gpu.type != "none" && r.gpu.count == 0) {
    r.gpu.count = 1;
  }
  if (r.gpu.type == "none") {
    r.gpu = {};
  }
  r.memory_mb = json_number(res, "memory_mb", r.memory_mb);
  r.cpus = static_cast<int>(json_number(res, "cpus", r.cpus));
  r.time_limit_s = json_number(res, "time_limit_s", r.time_limit_s);
  r.partition = json_string(res, "partition");
  if (res.contains("exclude_nodes")) {
    const auto& ex = res["exclude_nodes"];
    if (ex.is_array()) {
      for (const auto& n : ex) {
        if (n.is_string() && !n.get<std::string>().empty()) {
          r.exclude_nodes.push_back(n.get<std::string>());
        }
      }
    } else if (ex.is_string()) {
      for (const auto& n : util::split(ex.get<std::string>(), ',')) {
        if (!util::trim(n).empty()) {
          r.exclude_nodes.push_back(util::trim(n));
        }
      }
    }
  }
  proto::Json cluster = data.contains("cluster") && data["cluster"].is_object()
                            ? data["cluster"]
                            : proto::Json::object();
  std::string gpu_partition = cluster.contains("gpu_partition")
                                  ? json_string(cluster, "gpu_partition")
                                  : std::string("gpu");
  r.partition =
      slurm::choose_partition(r, gpu_partition, json_string(cluster, "default_partition"));
  return r;
}

AllocationList parse_allocation_list(std::string_view output) {
  AllocationList list;
  auto& out = list.allocations;
  for (const auto& line : util::split(output, '\n')) {
    auto f = util::split(line, '|');
    if (f.empty()) {
      continue;
    }
    if (f[0] == "now" && f.size() >= 2) {
      list.now = std::atoll(f[1].c_str());
    } else if (f[0] == "part" && f.size() >= 3) {
      std::string name = f[1];
      if (!name.empty() && name.back() == '*') {
        name.pop_back();
        list.default_partition = name;
      }
      list.partition_max[name] = slurm::parse_duration(f[2]);
    } else if (f[0] == "alloc") {
      if (auto j = slurm::parse_squeue_job(line.substr(6))) {
        out.push_back(AllocationView{std::move(*j), {}});
      }
    } else if (f[0] == "busy" && f.size() >= 4) {
      for (auto& a : out) {
        if (a.job.id == f[1]) {
          a.runs.emplace_back(f[2], f[3]);
        }
      }
    }
  }
  return list;
}

std::optional<slurm::SqueueJob> pick_allocation(const std::vector<AllocationView>& allocations,
                                                const slurm::ResourceRequest& request,
                                                const std::string& name, AcceptPending pending) {
  std::optional<slurm::SqueueJob> best;
  auto weight = [](const slurm::SqueueJob& j) {
    long long left =
        j.time_left.kind == slurm::Duration::Kind::unlimited ? (1LL << 60) : j.time_left.seconds;
    return std::make_tuple(j.gpu.count, j.memory_mb.value_or(0), j.cpus, -left);
  };
  for (const auto& a : allocations) {
    const auto& j = a.job;
    if (j.name != name || !a.idle()) {
      continue;
    }
    bool running = j.state == slurm::JobState::running && j.node.has_value();
    bool waiting = pending == AcceptPending::yes && j.state == slurm::JobState::pending &&
                   !slurm::is_hopeless_reason(j.reason);
    if (!running && !waiting) {
      continue;
    }
    // A pending job's time left is its whole limit.
    slurm::SqueueJob candidate = j;
    if (waiting && !candidate.time_left.known()) {
      candidate.time_left = candidate.time_limit;
    }
    if (!slurm::covers(candidate, request)) {
      continue;
    }
    bool better =
        !best || (running && best->state != slurm::JobState::running) ||
        (running == (best->state == slurm::JobState::running) && weight(j) < weight(*best));
    if (better) {
      best = j;
    }
  }
  return best;
}

proto::Json allocation_to_json(const slurm::SqueueJob& job, bool reused, long long waited_s) {
  proto::Json a = proto::Json::object();
  a["id"] = job.id;
  a["name"] = job.name;
  a["state"] = job.state_name;
  a["node"] = job.node ? proto::Json(*job.node) : proto::Json(nullptr);
  a["partition"] = job.partition;
  a["gpu_type"] = job.gpu.type.empty() ? proto::Json(nullptr) : proto::Json(job.gpu.type);
  a["gpu_count"] = job.gpu.count;
  a["memory_mb"] = job.memory_mb ? proto::Json(*job.memory_mb) : proto::Json(nullptr);
  a["cpus"] = job.cpus;
  auto limit = job.time_limit.as_optional();
  auto left = job.time_left.as_optional();
  a["time_limit_s"] = limit ? proto::Json(*limit) : proto::Json(nullptr);
  a["time_left_s"] = left ? proto::Json(*left) : proto::Json(nullptr);
  a["reused"] = reused;
  a["waited_s"] = waited_s;
  a["verified"] = true;
  return a;
}

std::optional<proto::Envelope> trusted_allocation(const JobContext& context,
                                                  const term::Printer& printer) {
  auto memo = remembered_allocation(context);
  if (!memo) {
    return std::nullopt;
  }
  const proto::Json& a = memo->allocation;
  auto str = [&](const char* k) {
    return a.contains(k) && a[k].is_string() ? a[k].get<std::string>() : std::string();
  };
  auto num = [&](const char* k) -> std::optional<long long> {
    return a.contains(k) && a[k].is_number_integer() ? std::optional(a[k].get<long long>())
                                                     : std::nullopt;
  };
  auto left = num("time_left_s");
  if (str("id").empty() || str("node").empty() || str("state") != "RUNNING" ||
      str("name") != "tccp:" + context.project || !left) {
    return std::nullopt;
  }
  long long now = static_cast<long long>(std::time(nullptr));
  slurm::SqueueJob j;
  j.id = str("id");
  j.name = str("name");
  j.state = slurm::JobState::running;
  j.node = str("node");
  j.partition = str("partition");
  j.gpu.type = str("gpu_type");
  j.gpu.count = static_cast<int>(num("gpu_count").value_or(0));
  j.memory_mb = num("memory_mb");
  j.cpus = static_cast<int>(num("cpus").value_or(0));
  j.time_left = slurm::Duration::of(*left - std::max(0LL, now - memo->remembered_at));
  if (!slurm::covers(j, request_from_job(context.envelope.data))) {
    return std::nullopt;
  }
  proto::Json out = a;
  out["time_left_s"] = j.time_left.seconds;
  out["reused"] = true;
  out["waited_s"] = 0;
  out["verified"] = false;
  printer.info("reusing allocation " + j.id + " on " + *j.node + " (about " +
               term::format_duration(j.time_left.seconds) + " left)");
  proto::Envelope env = context.envelope;
  env.data["allocation"] = out;
  return env;
}

proto::Envelope ensure_allocation(remote::Remote& remote, const JobContext& context,
                                  const term::Printer& printer, Progress progress) {
  auto request = request_from_job(context.envelope.data);
  const std::string name = "tccp:" + context.project;
  const auto& cluster = context.cluster;
  long long idle_s = json_number(cluster, "alloc_idle_timeout_s", 1800);

  auto listed = call_helper(remote, context.remote_root, "alloc_list", {context.project});
  if (listed.exit_code != 0) {
    throw Error(ExitCode::failed, "cannot list allocations: " + helper_message(listed));
  }
  auto list = parse_allocation_list(listed.out);
  const auto& allocations = list.allocations;

  proto::Envelope env = context.envelope;
  if (auto reuse = pick_allocation(allocations, request, name, AcceptPending::no)) {
    printer.info("reusing allocation " + reuse->id + " on " + reuse->node.value_or("?") + " (" +
                 term::format_duration(reuse->time_left.as_optional().value_or(0)) + " left)");
    env.data["allocation"] = allocation_to_json(*reuse, true, 0);
    remember_allocation(context, env.data["allocation"]);
    return env;
  }

  std::string command;
  std::vector<std::string> args;
  if (auto pending = pick_allocation(allocations, request, name, AcceptPending::yes)) {
    printer.info("allocation " + pending->id + " is already queued for this project");
    command = "alloc_wait";
    args = {pending->id, util::join(slurm::hopeless_reasons(), ",")};
  } else {

    command = "alloc_submit";
    args = {std::to_string(idle_s), util::join(slurm::hopeless_reasons(), ",")};
    auto holder = request;
    const std::string& part =
        request.partition.empty() ? list.default_partition : request.partition;
    auto max = list.partition_max.find(part);
    holder.time_limit_s = slurm::holder_time_limit_s(
        request.time_limit_s,
        max == list.partition_max.end() ? slurm::Duration::unknown() : max->second);
    printer.info("asking SLURM for " + describe_request(request) + " (held up to " +
                 term::format_duration(holder.time_limit_s) + " for reuse)");
    auto opts = slurm::holder_sbatch_options(holder, name);
    args.insert(args.end(), opts.begin(), opts.end());
  }
  std::string err;
  int code = 0;
  auto outcome = follow_wait(remote, context.remote_root, command, args, printer,
                             progress == Progress::quiet, &err, &code);
  if (command == "alloc_submit" && code == 7) {
    throw slurm::explain_sbatch_refusal(err, request);
  }
  if (outcome.running) {
    printer.info("allocation " + outcome.running->id + " running on " +
                 outcome.running->node.value_or("?") +
                 (outcome.waited_s > 0 ? " after " + term::format_duration(outcome.waited_s)
                                       : std::string()));
    env.data["allocation"] = allocation_to_json(*outcome.running, false, outcome.waited_s);
    remember_allocation(context, env.data["allocation"]);
    return env;
  }
  if (outcome.gone_state == "PENDING" && slurm::is_hopeless_reason(outcome.gone_reason)) {
    throw Error(ExitCode::refused,
                "SLURM will never start this allocation: " +
                    slurm::describe_pending_reason(outcome.gone_reason) + " (" +
                    outcome.gone_reason + "; asked for " + describe_request(request) + ")",
                "change the resources or time in tccp.yaml ('tccp gpus' shows what exists)");
  }
  if (!outcome.gone_state.empty()) {
    throw Error(ExitCode::refused,
                "the allocation ended before it started (" + outcome.gone_state +
                    (outcome.gone_reason.empty() || outcome.gone_reason == "None"
                         ? ""
                         : ": " + slurm::describe_pending_reason(outcome.gone_reason)) +
                    ")",
                "check the resources with 'tccp gpus' and 'tccp config'");
  }
  std::string msg = util::trim(err);
  throw Error(ExitCode::failed,
              "waiting for the allocation failed" + (msg.empty() ? "" : ": " + msg));
}

namespace {
struct AllocOptions {
  bool all = false;
  bool optimistic = false;
  std::string target;
};

proto::Json allocation_view_json(const AllocationView& a) {
  proto::Json j = allocation_to_json(a.job, false, 0);
  j.erase("reused");
  j.erase("waited_s");
  j["project"] = util::starts_with(a.job.name, "tccp:") ? a.job.name.substr(5) : a.job.name;
  j["idle"] = a.idle();
  j["reason"] =
      a.job.state == slurm::JobState::pending ? proto::Json(a.job.reason) : proto::Json(nullptr);
  j["runs"] = proto::Json::array();
  for (const auto& [run, state] : a.runs) {
    j["runs"].push_back({{"id", run}, {"state", state}});
  }
  return j;
}

int list_action(cli::Context& ctx, const AllocOptions& opts) {
  auto context = load_context("");
  auto remote = connect(context);
  auto r = call_helper(*remote, context.remote_root, "alloc_list",
                       {opts.all ? std::string("*") : context.project});
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, "cannot list allocations: " + helper_message(r));
  }
  auto allocations = parse_allocation_list(r.out).allocations;
  proto::Envelope env;
  env.type = "allocations";
  env.data["project"] = opts.all ? proto::Json(nullptr) : proto::Json(context.project);
  env.data["allocations"] = proto::Json::array();
  for (const auto& a : allocations) {
    env.data["allocations"].push_back(allocation_view_json(a));
  }
  ctx.emit(env, [&] {
    if (allocations.empty()) {
      std::cout << "no tccp allocation" << (opts.all ? "" : " for " + context.project) << '\n';
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "NAME", "STATE", "NODE", "PARTITION", "RESOURCES", "TIME LEFT", "USE"}};
    for (const auto& a : allocations) {
      std::string use = "idle";
      if (!a.idle()) {
        std::vector<std::string> ids;
        for (const auto& run : a.runs) {
          ids.push_back(run.first);
        }
        use = "busy: " + util::join(ids, ", ");
      }
      if (a.job.state == slurm::JobState::pending) {
        use = "pending: " + slurm::describe_pending_reason(a.job.reason);
      }
      auto left = a.job.time_left.as_optional();
      rows.push_back({a.job.id, a.job.name, util::to_lower(a.job.state_name),
                      a.job.node.value_or("-"), a.job.partition, describe_resources(a.job),
                      left ? term::format_duration(*left) : "-", use});
    }
    std::cout << term::format_table(rows, util::colour_wanted(STDOUT_FILENO));
  });
  return 0;
}

int release_action(cli::Context& ctx, const AllocOptions& opts) {
  if (!opts.target.empty() && opts.target != "all" &&
      opts.target.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ExitCode::usage, "'" + opts.target + "' is not an allocation id",
                "give a SLURM job id from 'tccp allocs', or 'all'");
  }
  auto context = load_context("");
  auto remote = connect(context);
  std::vector<std::string> args;
  if (opts.target.empty()) {
    args = {context.project, "idle"};
  } else if (opts.target == "all") {
    args = {"*", "all"};
  } else {
    args = {context.project, "ids", opts.target};
  }
  auto r = call_helper(*remote, context.remote_root, "alloc_release", args);
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, "cannot release allocations: " + helper_message(r));
  }
  proto::Envelope env;
  env.type = "released";
  env.data["released"] = proto::Json::array();
  env.data["kept"] = proto::Json::array();
  for (const auto& line : util::split(r.out, '\n')) {
    auto f = util::split(line, '|');
    if (f.size() >= 2 && f[0] == "released") {
      env.data["released"].push_back(f[1]);
    } else if (f.size() >= 3 && f[0] == "kept") {
      env.data["kept"].push_back({{"id", f[1]}, {"reason", f[2]}});
    }
  }
  ctx.emit(env, [&] {
    for (const auto& id : env.data["released"]) {
      std::cout << "released allocation " << id.get<std::string>() << '\n';
    }
    for (const auto& k : env.data["kept"]) {
      std::cout << "kept " << k["id"].get<std::string>() << ": " << k["reason"].get<std::string>()
                << '\n';
    }
    if (env.data["released"].empty() && env.data["kept"].empty()) {
      std::cout << (opts.target.empty() ? "no idle allocation to release"
                                        : "no allocation to release")
                << '\n';
    }
  });
  if (auto memo = remembered_allocation(context)) {
    for (const auto& id : env.data["released"]) {
      if (memo->allocation.value("id", "") == id.get<std::string>()) {
        forget_allocation(context);
      }
    }
  }
  bool asked_one = !opts.target.empty() && opts.target != "all";
  return asked_one && env.data["released"].empty() ? static_cast<int>(ExitCode::failed) : 0;
}
} // namespace

int alloc_main(int argc, char** argv) {
  static AllocOptions opts;
  return cli::run_main(
      "tccp-alloc", "find, create, list and release SLURM allocations", argc, argv,
      [](CLI::App& app, cli::Common&) {
        auto* ensure = cli::add_command(
            app, "ensure", "read a job document, add a running allocation for it (reused or new)",
            [](cli::Context& ctx) {
              auto context = context_from_envelope(proto::read_input(std::cin, "job"));
              if (opts.optimistic) {
                if (auto env = trusted_allocation(context, ctx.printer())) {
                  proto::write_envelope(std::cout, *env);
                  return 0;
                }
              }
              auto remote = connect(context);
              auto env = ensure_allocation(*remote, context, ctx.printer(),
                                           ctx.common().quiet ? Progress::quiet : Progress::show);
              proto::write_envelope(std::cout, env);
              return 0;
            });
        ensure->add_flag("--optimistic", opts.optimistic,
                         "reuse the allocation this project last got without asking SLURM when "
                         "it still covers the job (tccp-launch start checks it as it starts "
                         "the run)");
        auto* list = cli::add_command(app, "list", "list this project's tccp allocations",
                                      [](cli::Context& ctx) { return list_action(ctx, opts); });
        list->alias("allocs");
        list->add_flag("-a,--all", opts.all, "every tccp allocation, of every project");
        auto* release = cli::add_command(
            app, "release", "release idle allocations of this project, one by id, or all",
            [](cli::Context& ctx) { return release_action(ctx, opts); });
        release->alias("dealloc");
        release->add_option("target", opts.target,
                            "an allocation id, or 'all' (every tccp allocation); default: "
                            "every idle one of this project");
      });
}

} // namespace tccp::tools
