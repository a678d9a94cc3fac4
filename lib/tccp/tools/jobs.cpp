#include "tccp/tools/jobs.hpp"

#include "tccp/tools/connection.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <iostream>
#include <iterator>
#include <poll.h>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "tccp/config/project.hpp"
#include "tccp/remote/helper.hpp"
#include "tccp/slurm/duration.hpp"
#include "tccp/sync/state.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

namespace {
proto::Json json_str(const std::string& s) {
  return s.empty() ? proto::Json(nullptr) : proto::Json(s);
}

proto::Json json_int(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789-") != std::string::npos) {
    return nullptr;
  }
  return std::stoll(s);
}
} // namespace

remote::ExecResult stream_helper(remote::Remote& remote, const std::string& root,
                                 const std::string& command, const std::vector<std::string>& args,
                                 const remote::Sink& on_stdout, const remote::Sink& on_stderr) {
  return remote::call_helper_stream(
      remote, root, command, args, [](const remote::StdinWriter&) {}, on_stdout, on_stderr);
}

int interactive_helper(remote::Remote& remote, const std::string& root, const std::string& command,
                       const std::vector<std::string>& args) {
  // Install first (a cheap check) so the terminal session runs the helper.
  auto probe = remote.run("test -x " + remote::helper_path_word(root));
  if (probe.exit_code != 0) {
    remote::install_helper(remote, root);
  }
  return remote.interactive(remote::helper_command(root, command, args));
}

std::string helper_message(const remote::ExecResult& result) {
  std::string last;
  for (const auto& line : util::split(result.err, '\n')) {
    std::string t = util::trim(line);
    if (t.empty()) {
      continue;
    }
    constexpr std::string_view prefix = "tccp-remote: error: ";
    if (util::starts_with(t, prefix)) {
      return t.substr(prefix.size());
    }
    last = t;
  }
  if (last.empty()) {
    return "the cluster helper failed with status " + std::to_string(result.exit_code);
  }
  return last;
}

JobContext context_from_envelope(proto::Envelope envelope) {
  JobContext c;
  const auto& d = envelope.data;
  if (!d.contains("project") || !d["project"].is_string()) {
    throw Error(ExitCode::protocol, "the job document has no \"project\"");
  }
  c.project = d["project"].get<std::string>();
  if (d.contains("job") && d["job"].is_string()) {
    c.job = d["job"].get<std::string>();
  }
  if (d.contains("cluster") && d["cluster"].is_object()) {
    c.cluster = d["cluster"];
  }
  c.remote_root = "~/.tccp";
  if (c.cluster.contains("remote_root") && c.cluster["remote_root"].is_string() &&
      !c.cluster["remote_root"].get<std::string>().empty()) {
    c.remote_root = c.cluster["remote_root"].get<std::string>();
  }
  c.envelope = std::move(envelope);
  return c;
}

JobContext load_context(const std::string& job) {
  // A job document piped in wins (`tccp-config resolve | tccp-launch jobs`);
  // an empty or silent pipe falls back to the project here.
  struct stat st {};
  bool piped = false;
  if (::fstat(STDIN_FILENO, &st) == 0) {
    if (S_ISREG(st.st_mode)) {
      piped = st.st_size > 0;
    } else if (S_ISFIFO(st.st_mode)) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      piped = ::poll(&p, 1, 100) > 0 && (p.revents & POLLIN) != 0;
    }
  }
  if (piped) {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!util::trim(text).empty()) {
      std::istringstream in(text);
      auto ctx = context_from_envelope(proto::read_input(in, "job"));
      if (!job.empty()) {
        ctx.job = job;
      }
      return ctx;
    }
  }
  auto global = config::load_global();
  auto project = config::load_project(std::filesystem::current_path(), global);
  JobContext c;
  c.project = project.display_name();
  c.job = job;
  c.cluster = config::cluster_to_json(global.cluster);
  c.remote_root = global.cluster.remote_root.empty() ? "~/.tccp" : global.cluster.remote_root;
  c.envelope.type = "job";
  c.envelope.data = {{"project", c.project},
                     {"project_dir", project.dir.string()},
                     {"job", job.empty() ? proto::Json(nullptr) : proto::Json(job)},
                     {"cluster", c.cluster}};
  return c;
}

std::unique_ptr<remote::Remote> connect(const JobContext& context) {
  std::string host;
  if (context.cluster.contains("host") && context.cluster["host"].is_string()) {
    host = context.cluster["host"].get<std::string>();
  }
  // `host: local`: tccp runs on the cluster itself (a login node).
  if (host == "local") {
    return std::make_unique<remote::LocalRemote>();
  }
  return open_remote(config::cluster_from_json(context.cluster));
}

bool at_terminal() {
  if (!util::is_terminal(STDOUT_FILENO)) {
    return false;
  }
  if (::isatty(STDIN_FILENO) != 0) {
    return true;
  }
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool ok = ::dup2(fd, STDIN_FILENO) == STDIN_FILENO;
  ::close(fd);
  return ok;
}

std::string RunRecord::get(const std::string& key) const {
  auto it = fields.find(key);
  return it == fields.end() ? std::string() : it->second;
}

bool RunRecord::alive() const {
  auto s = state();
  return s == "initializing" || s == "running" || s == "killed";
}

RunRecord parse_run_record(std::string_view output) {
  RunRecord r;
  for (const auto& line : util::split(output, '\n')) {
    if (!util::starts_with(line, "s|")) {
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    r.fields[line.substr(2, eq - 2)] = line.substr(eq + 1);
  }
  return r;
}

proto::Json run_to_json(const RunRecord& run, long long now) {
  proto::Json j = proto::Json::object();
  j["id"] = json_str(run.id());
  j["job"] = json_str(run.get("job"));
  j["project"] = json_str(run.get("project"));
  j["state"] = json_str(run.state());
  j["node"] = json_str(run.get("node"));
  j["alloc_id"] = json_str(run.get("alloc_id"));
  j["step_id"] = json_str(run.get("step_id"));
  j["created_at"] = json_str(run.get("created_at"));
  j["init_started_at"] = json_str(run.get("init_started_at"));
  j["started_at"] = json_str(run.get("started_at"));
  j["ended_at"] = json_str(run.get("ended_at"));
  auto begin = slurm::parse_timestamp(run.get("created_at"));
  auto end = slurm::parse_timestamp(run.get("ended_at"));
  if (begin && end) {
    j["duration_s"] = std::max(0LL, *end - *begin);
  } else if (begin && run.alive() && now > 0) {
    j["duration_s"] = std::max(0LL, now - *begin);
  } else {
    j["duration_s"] = nullptr;
  }
  j["exit_code"] = json_int(run.get("exit_code"));
  j["signal"] = json_str(run.get("signal"));
  j["reason"] = json_str(run.get("reason"));
  j["failed_stage"] = json_str(run.get("failed_stage"));
  j["code_digest"] = json_str(run.get("code_digest"));
  j["remote_dir"] = json_str(run.get("run_dir"));
  j["venv"] = json_str(run.get("venv"));
  j["time_limit_s"] = json_int(run.get("time_limit_s"));
  return j;
}

int run_exit_status(const std::string& state, const std::string& exit_code) {
  if (state == "finished") {
    return 0;
  }
  if (state == "cancelled") {
    return static_cast<int>(ExitCode::interrupted);
  }
  if (state == "failed" && !exit_code.empty() &&
      exit_code.find_first_not_of("0123456789") == std::string::npos) {
    int code = std::stoi(exit_code);
    return code == 0 ? 1 : code;
  }
  return 1;
}

Listing parse_listing(std::string_view output) {
  Listing l;
  RunRecord* current = nullptr;
  std::map<std::string, RunRecord> rechecked;
  RunRecord* recheck = nullptr;
  for (const auto& line : util::split(output, '\n')) {
    auto bar = line.find('|');
    if (bar == std::string::npos) {
      continue;
    }
    std::string tag = line.substr(0, bar);
    std::string rest = line.substr(bar + 1);
    if (tag == "now") {
      l.now = std::atoll(rest.c_str());
    } else if (tag == "alloc") {
      if (auto j = slurm::parse_squeue_job(rest)) {
        l.allocations.push_back(std::move(*j));
      }
    } else if (tag == "step") {
      if (auto s = slurm::parse_squeue_step(rest)) {
        l.steps.push_back(std::move(*s));
      }
    } else if (tag == "steps_checked") {
      for (const auto& id : util::split(rest, ',')) {
        l.steps_checked.insert(id);
      }
    } else if (tag == "sacct") {
      if (auto r = slurm::parse_sacct_line(rest)) {
        l.sacct.push_back(std::move(*r));
      }
    } else if (tag == "run") {
      l.runs.emplace_back();
      current = &l.runs.back();
      recheck = nullptr;
    } else if (tag == "recheck") {
      recheck = &rechecked[rest];
      current = nullptr;
    } else if (tag == "s") {
      auto eq = rest.find('=');
      if (eq == std::string::npos) {
        continue;
      }
      RunRecord* target = recheck != nullptr ? recheck : current;
      if (target != nullptr) {
        target->fields[rest.substr(0, eq)] = rest.substr(eq + 1);
      }
    }
  }
  // A status read again after the steps were listed is the one to judge.
  for (auto& run : l.runs) {
    auto it = rechecked.find(run.id());
    if (it != rechecked.end() && !it->second.fields.empty()) {
      run = it->second;
    }
  }
  return l;
}

std::vector<Verdict> judge_runs(Listing& listing) {
  std::vector<Verdict> verdicts;
  for (auto& run : listing.runs) {
    if (!run.alive()) {
      continue;
    }
    const std::string alloc_id = run.get("alloc_id");
    if (alloc_id.empty()) {
      continue;
    }
    std::optional<slurm::JobState> alloc_state;
    for (const auto& a : listing.allocations) {
      if (a.id == alloc_id) {
        alloc_state = a.state;
      }
    }
    if (!alloc_state) {
      for (const auto& s : listing.sacct) {
        if (s.job_id == alloc_id) {
          alloc_state = s.state;
        }
      }
    }
    Verdict v;
    v.run_id = run.id();
    if (!alloc_state) {
      v.state = "lost";
      v.reason = "allocation " + alloc_id + " is no longer known to SLURM";
    } else if (slurm::is_finished(*alloc_state)) {
      bool timed_out = *alloc_state == slurm::JobState::timeout;
      v.state = timed_out ? "timeout" : "lost";
      v.reason = slurm::describe_end(*alloc_state) + " (allocation " + alloc_id + ": " +
                 slurm::job_state_name(*alloc_state) + ")";
    } else if (run.state() == "killed") {
      v.state = "lost";
      v.reason = run.get("reason").empty() ? "the step was killed" : run.get("reason");
      auto ended = slurm::parse_timestamp(run.get("ended_at"));
      bool settled = *alloc_state == slurm::JobState::running && ended && listing.now > 0 &&
                     listing.now - *ended >= 60;
      v.reason += settled ? " while allocation " + alloc_id + " ran on"
                          : "; allocation " + alloc_id + " is " +
                                util::to_lower(slurm::job_state_name(*alloc_state));
      v.final = settled;
    } else if (listing.steps_checked.count(alloc_id) != 0 && !run.get("step_id").empty()) {
      bool found = std::any_of(listing.steps.begin(), listing.steps.end(), [&](const auto& s) {
        return s.job_id == alloc_id && s.step_id == run.get("step_id");
      });
      if (found) {
        continue;
      }
      v.state = "lost";
      v.reason = "step " + alloc_id + "." + run.get("step_id") +
                 " ended without writing the run's status (killed?)";
    } else {
      continue;
    }
    run.fields["state"] = v.state;
    run.fields["reason"] = v.reason;
    if (run.get("ended_at").empty() && listing.now > 0) {
      run.fields["ended_at"] = slurm::format_timestamp(listing.now);
    }
    verdicts.push_back(std::move(v));
  }
  return verdicts;
}

Listing list_runs(remote::Remote& remote, const JobContext& context) {
  auto r = call_helper(remote, context.remote_root, "jobs", {context.project});
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed, "cannot list the runs: " + helper_message(r));
  }
  Listing listing = parse_listing(r.out);
  auto verdicts = judge_runs(listing);
  std::vector<std::string> args{context.project};
  for (const auto& v : verdicts) {
    if (v.final) {
      args.insert(args.end(), {v.run_id, v.state, v.reason});
    }
  }
  if (args.size() > 1) {
    auto m = call_helper(remote, context.remote_root, "run_mark", args);
    if (m.exit_code != 0) {
      std::cerr << "tccp: warning: cannot record what happened to lost runs: " << helper_message(m)
                << '\n';
    }
  }
  return listing;
}

const RunRecord& newest_live_run(const Listing& listing, const std::string& selector) {
  const RunRecord* best = nullptr;
  for (const auto& r : listing.runs) {
    bool named = selector.empty() || r.get("job") == selector || r.id() == selector;
    if (named && r.alive() && !r.get("node").empty() && (best == nullptr || r.id() > best->id())) {
      best = &r;
    }
  }
  if (best == nullptr) {
    throw Error(ExitCode::failed,
                selector.empty() ? "no run of this project is running"
                                 : "no running run of '" + selector + "'",
                "start one with 'tccp run " + (selector.empty() ? "<job>" : selector) + "'");
  }
  return *best;
}

namespace {
// $TCCP_HOME/projects/<project>/: the local caches of one project.
std::filesystem::path project_cache_dir(const std::string& project) {
  return tccp_home() / "projects" / project;
}

// The same, created (0700 all the way down) before a cache is written.
std::filesystem::path made_project_cache_dir(const std::string& project) {
  auto dir = project_cache_dir(project);
  util::ensure_private_dir(dir.parent_path().parent_path());
  util::ensure_private_dir(dir.parent_path());
  util::ensure_private_dir(dir);
  return dir;
}

// One memo per cluster account and remote root (the key sync's state uses).
std::filesystem::path allocation_memo(const JobContext& context) {
  auto p = config::cluster_from_json(context.cluster);
  return project_cache_dir(context.project) /
         ("allocation-" +
          sync::cluster_key(p.host, p.user.value_or(""), p.port.value_or(22), context.remote_root) +
          ".json");
}
} // namespace

void write_runs_cache(const std::string& project, const proto::Json& runs) {
  proto::Json doc = {{"project", project}, {"runs", runs}};
  util::atomic_write_file(made_project_cache_dir(project) / "runs.json", doc.dump(2) + "\n");
}

std::optional<RememberedAllocation> remembered_allocation(const JobContext& context) {
  std::string text;
  try {
    text = util::read_file(allocation_memo(context));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto doc = proto::Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("allocation") ||
      !doc["allocation"].is_object() || !doc.contains("remembered_at") ||
      !doc["remembered_at"].is_number_integer()) {
    return std::nullopt;
  }
  return RememberedAllocation{doc["allocation"], doc["remembered_at"].get<long long>()};
}

void remember_allocation(const JobContext& context, const proto::Json& allocation) {
  made_project_cache_dir(context.project);
  auto file = allocation_memo(context);
  proto::Json doc = {{"allocation", allocation},
                     {"remembered_at", static_cast<long long>(std::time(nullptr))}};
  util::atomic_write_file(file, doc.dump() + "\n");
}

void forget_allocation(const JobContext& context) {
  std::error_code ec;
  std::filesystem::remove(allocation_memo(context), ec);
}

std::string make_run_id(const std::string& job, long long now_epoch) {
  auto t = static_cast<std::time_t>(now_epoch);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char rnd[8];
  std::snprintf(rnd, sizeof rnd, "%04x", static_cast<unsigned>(rd() & 0xffffU));
  return job + "-" + stamp + "-" + rnd;
}

} // namespace tccp::tools
