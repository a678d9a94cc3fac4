#include "tccp/tools/sync_tool.hpp"

#include "tccp/tools/connection.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/config/job_spec.hpp"
#include "tccp/config/project.hpp"
#include "tccp/core/error.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/sync/manifest.hpp"
#include "tccp/sync/snapshot.hpp"
#include "tccp/sync/state.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

namespace fs = std::filesystem;
using proto::Json;

Json sync_object(const sync::PushResult& r) {
  Json j = Json::object();
  j["tree_digest"] = r.tree.digest;
  j["remote_tree"] = r.tree.remote_tree;
  j["files_total"] = r.tree.files_total;
  j["bytes_total"] = r.tree.bytes_total;
  j["files_sent"] = r.tree.files_sent;
  j["bytes_sent"] = r.tree.bytes_sent;
  j["deleted"] = r.tree.deleted;
  j["round_trips"] = r.round_trips;
  j["stream_bytes"] = r.stream_bytes;
  j["files_hashed"] = r.files_hashed;
  j["first_push"] = r.first_push;
  j["deferred"] = r.tree.deferred;
  j["duration_ms"] = r.duration_ms;
  j["rodata"] = Json::array();
  for (const auto& t : r.rodata) {
    Json o = Json::object();
    o["path"] = t.path;
    o["tree_digest"] = t.digest;
    o["remote_tree"] = t.remote_tree;
    o["skipped"] = t.skipped;
    o["files_total"] = t.files_total;
    o["bytes_total"] = t.bytes_total;
    o["files_sent"] = t.files_sent;
    o["bytes_sent"] = t.bytes_sent;
    o["deleted"] = t.deleted;
    j["rodata"].push_back(o);
  }
  return j;
}

Json pulled_object(const sync::PullResult& r) {
  Json j = Json::object();
  j["run_id"] = r.run_id;
  j["job"] = r.job;
  j["dir"] = r.dir.string();
  j["latest"] = r.latest.string();
  j["files_total"] = r.files_total;
  j["bytes_total"] = r.bytes_total;
  j["files_fetched"] = r.files_fetched;
  j["files_resumed"] = r.files_resumed;
  j["bytes_fetched"] = r.bytes_fetched;
  j["round_trips"] = r.round_trips;
  return j;
}

namespace {

// What the flags say; empty means "not given".
struct Flags {
  std::string dir;
  std::string project;
  std::string env_file;
  bool no_env = false;
  std::string output;
  std::vector<std::string> rodata;
  std::string host;
  std::string user;
  int port = 0;
  std::string remote_root;
  std::string allocation;
  std::string job;
  std::string run;
  bool nul = false;
  bool progress = false;
  bool optimistic = false;
};

// Everything a subcommand needs, from the job envelope and/or the flags.
struct Context {
  std::optional<proto::Envelope> envelope;
  sync::PushSpec spec;
  config::ClusterProfile cluster;
  std::string job;
  std::string run_id;
  std::optional<std::string> cache;
};

std::string json_string(const Json& data, const char* key, const std::string& fallback = {}) {
  if (data.contains(key) && data[key].is_string()) {
    return data[key].get<std::string>();
  }
  return fallback;
}

// The job envelope on stdin, when there is one (stdin not a terminal and
// not empty). An upstream error envelope passes through unchanged.
std::optional<proto::Envelope> read_job_envelope() {
  if (::isatty(STDIN_FILENO) != 0) {
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (util::trim(text).empty()) {
    return std::nullopt;
  }
  std::istringstream in(text);
  return proto::read_input(in, "job");
}

// Alone, the job comes from tccp.yaml and $TCCP_HOME/config.yaml, as
// `tccp-config resolve` would give it. Without a job named, a push (which
// needs the project-level fields only) takes the first job.
config::JobSpec resolve_from_files(const Flags& f, bool first_job_if_many) {
  auto global = config::load_global();
  auto project = config::load_project(f.dir.empty() ? fs::current_path() : fs::path(f.dir), global);
  std::optional<std::string> requested;
  if (!f.job.empty()) {
    requested = f.job;
  } else if (first_job_if_many && project.job_names().size() > 1) {
    requested = project.job_names().front();
  }
  return config::resolve_job(project, global, requested);
}

Context resolve(const Flags& f, bool first_job_if_many = true) {
  Context ctx;
  ctx.envelope = read_job_envelope();
  config::JobSpec job = ctx.envelope ? config::job_from_json(ctx.envelope->data)
                                     : resolve_from_files(f, first_job_if_many);
  sync::PushSpec& s = ctx.spec;
  s.project = job.project;
  s.project_dir = job.project_dir;
  s.env_file = job.env_file;
  s.output = job.output;
  s.rodata = job.rodata;
  ctx.cache = job.cache;
  ctx.job = job.job;
  ctx.cluster = job.cluster;
  if (ctx.envelope) {
    const Json& d = ctx.envelope->data;
    if (d.contains("allocation") && d["allocation"].is_object()) {
      std::string id = json_string(d["allocation"], "id");
      if (!id.empty()) {
        s.allocation_id = id;
      }
    }
    if (d.contains("run") && d["run"].is_object()) {
      ctx.run_id = json_string(d["run"], "id");
    }
  }
  // Flags say it explicitly: they win over the document.
  if (!f.dir.empty() && ctx.envelope) {
    s.project_dir = fs::absolute(f.dir).lexically_normal();
  }
  if (!f.project.empty()) {
    s.project = f.project;
  }
  if (f.no_env) {
    s.env_file.reset();
  } else if (!f.env_file.empty()) {
    s.env_file = f.env_file;
  }
  if (!f.output.empty()) {
    s.output = f.output;
  }
  if (!f.rodata.empty()) {
    s.rodata = f.rodata;
  }
  if (!f.host.empty()) {
    ctx.cluster.host = f.host;
  }
  if (!f.user.empty()) {
    ctx.cluster.user = f.user;
  }
  if (f.port != 0) {
    ctx.cluster.port = f.port;
  }
  if (!f.remote_root.empty()) {
    ctx.cluster.remote_root = f.remote_root;
  }
  if (!f.allocation.empty()) {
    s.allocation_id = f.allocation;
  }
  if (!f.job.empty()) {
    ctx.job = f.job;
  }
  if (!f.run.empty()) {
    ctx.run_id = f.run;
  }
  s.remote_root = ctx.cluster.remote_root;
  s.cluster_key = sync::cluster_key(ctx.cluster.host, ctx.cluster.user.value_or(""),
                                    ctx.cluster.port.value_or(22), ctx.cluster.remote_root);
  return ctx;
}

// The connection to the cluster. `host: local` is this machine (the helper
// runs under the local /bin/sh), for clusters reachable as this machine and
// for tests.
std::unique_ptr<remote::Remote> open_cluster(const config::ClusterProfile& p) {
  if (p.host == "local") {
    return std::make_unique<remote::LocalRemote>();
  }
  if (p.host.empty()) {
    throw Error(ExitCode::config, "no cluster to sync with",
                "pipe a job from 'tccp-config resolve', or give --host");
  }
  return open_remote(p);
}

// Progress on stderr, in place, only on a terminal and only for operations
// that last more than a moment.
class ProgressLine {
public:
  ProgressLine(std::string what, bool enabled)
      : m_what(std::move(what)), m_enabled(enabled && util::is_terminal(STDERR_FILENO)),
        m_start(Clock::now()) {}
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(std::uint64_t done, std::uint64_t total) {
    if (!m_enabled) {
      return;
    }
    auto now = Clock::now();
    if (now - m_start < std::chrono::milliseconds(500) ||
        now - m_last < std::chrono::milliseconds(100)) {
      return;
    }
    m_last = now;
    double secs = std::chrono::duration<double>(now - m_start).count();
    int pct = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    int filled = pct * 24 / 100;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(24, '.');
    std::string line =
        m_what + " [" + bar + "] " + std::to_string(pct) + "% " + sync::human_bytes(done) + " / " +
        sync::human_bytes(total) + ", " +
        sync::human_bytes(static_cast<std::uint64_t>(static_cast<double>(done) / secs)) + "/s";
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    std::fflush(stderr);
    m_shown = true;
  }

  void clear() {
    if (m_shown) {
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
      m_shown = false;
    }
  }

private:
  using Clock = std::chrono::steady_clock;
  std::string m_what;
  bool m_enabled;
  Clock::time_point m_start;
  Clock::time_point m_last{};
  bool m_shown = false;
};

class PushReporter : public sync::PushObserver {
public:
  PushReporter(cli::Context& ctx, bool json_stream)
      : m_ctx(ctx), m_progress("pushing", !ctx.common().quiet && !json_stream),
        m_json_stream(json_stream) {}

  void preview(const sync::Preview& p) override {
    m_progress.clear();
    for (const auto& line : sync::format_preview(p)) {
      m_ctx.printer().info(line);
    }
    if (p.big) {
      m_ctx.printer().warning("this project is big: " + std::to_string(p.files) + " files, " +
                              sync::human_bytes(p.bytes) +
                              " outside rodata; is all of it needed on the cluster?");
      if (!p.suggested_ignore.empty()) {
        m_ctx.printer().hint("to leave '" + p.suggested_ignore.substr(1) +
                             "' out, add this line to .tccpignore:  " + p.suggested_ignore);
      }
    }
  }
  void progress(std::uint64_t done, std::uint64_t total) override {
    m_progress.update(done, total);
    if (m_json_stream) {
      event(done, total);
    }
  }
  void note(const std::string& message) override {
    m_progress.clear();
    m_ctx.printer().info(message);
  }
  void done() { m_progress.clear(); }

private:
  // One `progress` line at most every 100 ms, and the last one always.
  void event(std::uint64_t done, std::uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - m_last_event < std::chrono::milliseconds(100)) {
      return;
    }
    m_last_event = now;
    Json d = Json::object();
    d["stage"] = "sync";
    d["message"] = "sending changed files";
    d["done"] = done;
    d["total"] = total;
    d["unit"] = "bytes";
    proto::write_event(std::cout, "progress", d);
  }

  cli::Context& m_ctx;
  ProgressLine m_progress;
  bool m_json_stream;
  std::chrono::steady_clock::time_point m_last_event{};
};

class PullReporter : public sync::PullObserver {
public:
  explicit PullReporter(cli::Context& ctx) : m_progress("downloading", !ctx.common().quiet) {}
  void progress(std::uint64_t done, std::uint64_t total) override {
    m_progress.update(done, total);
  }

private:
  ProgressLine m_progress;
};

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void add_spec_flags(CLI::App* cmd, Flags& f) {
  cmd->add_option("-C", f.dir, "Run as if started in this directory");
  cmd->add_option("--project", f.project, "Project name (default: the directory's name)");
  cmd->add_option("--env", f.env_file, "Env file, synced even when ignored (default .env)");
  cmd->add_flag("--no-env", f.no_env, "Sync no env file");
  cmd->add_option("--output", f.output, "Output dir, never pushed (default output)");
  cmd->add_option("--rodata", f.rodata, "Read-only data dir, pushed once per allocation");
  cmd->add_option("--host", f.host, "Cluster host ('local': this machine)");
  cmd->add_option("--user", f.user, "Cluster user");
  cmd->add_option("--port", f.port, "Cluster SSH port");
  cmd->add_option("--remote-root", f.remote_root, "tccp's root on the cluster (default ~/.tccp)");
}

int push_action(cli::Context& ctx, const Flags& f) {
  Context c = resolve(f);
  c.spec.defer_unchanged = f.optimistic;
  remote::LazyRemote remote([&] { return open_cluster(c.cluster); }, c.cluster.host);
  PushReporter reporter(ctx, f.progress);
  sync::PushResult r = sync::push(remote, c.spec, &reporter);
  reporter.done();
  if (f.progress) {
    // A JSON Lines stream: progress lines, then exactly one result line.
    Json d = Json::object();
    d["ok"] = true;
    d.update(sync_object(r));
    proto::write_event(std::cout, "result", d);
    return 0;
  }
  proto::Envelope out;
  if (c.envelope) {
    out = *c.envelope;
  } else {
    out.type = "sync";
  }
  out.data["sync"] = sync_object(r);
  ctx.emit(out, [&] {
    if (r.tree.deferred) {
      std::cout << "unchanged since the last push (not checked with the cluster)";
    } else if (r.tree.files_sent == 0 && r.tree.deleted == 0) {
      std::cout << "up to date";
    } else {
      std::cout << "pushed " << plural(r.tree.files_sent, "file") << " ("
                << sync::human_bytes(r.tree.bytes_sent) << ")";
      if (r.tree.deleted > 0) {
        std::cout << ", deleted " << r.tree.deleted;
      }
    }
    for (const auto& t : r.rodata) {
      std::cout << "; rodata " << t.path << ": "
                << (t.skipped ? std::string("already pushed in this allocation")
                              : plural(t.files_sent, "file") + " sent");
    }
    std::cout << " (" << plural(static_cast<std::size_t>(r.round_trips), "round trip") << ", "
              << r.duration_ms << " ms)\n";
  });
  return 0;
}

int ls_action(cli::Context& ctx, const Flags& f) {
  Context c = resolve(f);
  auto paths = sync::list_paths(c.spec);
  if (f.nul) {
    for (const auto& p : paths) {
      std::cout << p.path << '\0';
    }
    std::cout.flush();
    return 0;
  }
  proto::Envelope out;
  out.type = "sync_list";
  out.data["project_dir"] = c.spec.project_dir.string();
  out.data["files"] = Json::array();
  for (const auto& p : paths) {
    Json o = Json::object();
    o["path"] = p.path;
    o["kind"] = std::string(1, static_cast<char>(p.kind));
    o["size_bytes"] = p.size;
    o["rodata"] = p.rodata;
    o["env"] = p.kind == sync::EntryKind::secret;
    out.data["files"].push_back(o);
  }
  if (ctx.common().json) {
    proto::write_envelope(std::cout, out);
    return 0;
  }
  // A listing is data as lines, on a terminal or not (like git ls-files):
  // one path per line (escaped as in manifests), a tab and a mark for
  // rodata and the env file.
  for (const auto& p : paths) {
    std::cout << sync::escape_path(p.path);
    if (p.rodata) {
      std::cout << "\t[rodata]";
    }
    if (p.kind == sync::EntryKind::secret) {
      std::cout << "\t[env]";
    }
    std::cout << '\n';
  }
  std::cout.flush();
  return 0;
}

int pull_action(cli::Context& ctx, const Flags& f) {
  Context c = resolve(f, false);
  if (c.job.empty() && c.run_id.empty()) {
    throw Error(ExitCode::usage, "which job's output?", "name it: tccp-sync pull <job>");
  }
  auto remote = open_cluster(c.cluster);
  sync::validate(c.spec);
  sync::PullRequest req;
  req.remote_root = c.cluster.remote_root;
  req.project = c.spec.project;
  req.run_id = c.run_id;
  req.job = c.job;
  req.output = c.spec.output;
  std::string output = *sync::project_relative(c.spec.output);
  req.local_output = c.spec.project_dir / output;
  if (c.cache) {
    if (auto cache = sync::project_relative(*c.cache);
        cache && util::starts_with(*cache, output + "/")) {
      req.exclude.push_back(cache->substr(output.size() + 1));
    }
  }
  PullReporter reporter(ctx);
  sync::PullResult r = sync::pull_output(*remote, req, &reporter);
  proto::Envelope out;
  if (c.envelope) {
    out = *c.envelope;
  } else {
    out.type = "sync_pull";
  }
  out.data["pulled"] = pulled_object(r);
  ctx.emit(out, [&] {
    std::cout << "output of run " << r.run_id << ": " << plural(r.files_fetched, "file")
              << " fetched (" << sync::human_bytes(r.bytes_fetched) << "), "
              << plural(r.files_total, "file") << " in all -> "
              << fs::relative(r.dir, c.spec.project_dir).string() << '\n';
  });
  return 0;
}

int clean_action(cli::Context& ctx, const Flags& f) {
  Context c = resolve(f);
  auto remote = open_cluster(c.cluster);
  sync::validate(c.spec);
  sync::CleanRequest req;
  req.remote_root = c.cluster.remote_root;
  req.project = c.spec.project;
  req.job = f.job; // none named: every job
  req.output = c.spec.output;
  req.local_output = c.spec.project_dir / *sync::project_relative(c.spec.output);
  sync::CleanResult r = sync::clean_output(*remote, req);
  proto::Envelope out;
  out.type = "sync_clean";
  out.data["local_removed"] = Json::array();
  for (const auto& p : r.local_removed) {
    out.data["local_removed"].push_back(p.string());
  }
  out.data["remote_cleaned"] = r.remote_cleaned;
  out.data["round_trips"] = r.round_trips;
  ctx.emit(out, [&] {
    std::cout << "removed " << plural(r.local_removed.size(), "old output dir")
              << " here and the output of " << plural(r.remote_cleaned.size(), "old run")
              << " on the cluster\n";
  });
  return 0;
}

int snapshot_action(cli::Context& ctx, const Flags& f) {
  Context c = resolve(f);
  if (c.run_id.empty()) {
    throw Error(ExitCode::usage, "which run?", "give --run <id>");
  }
  auto remote = open_cluster(c.cluster);
  sync::validate(c.spec);
  sync::SnapshotRequest req;
  req.remote_root = c.cluster.remote_root;
  req.project = c.spec.project;
  req.run_id = c.run_id;
  req.job = c.job.empty() ? "main" : c.job;
  req.output = c.spec.output;
  req.rodata = c.spec.rodata;
  sync::Snapshot s = sync::snapshot(*remote, req);
  proto::Envelope out;
  if (c.envelope) {
    out = *c.envelope;
  } else {
    out.type = "sync_snapshot";
  }
  Json j = Json::object();
  j["code_digest"] = s.code_digest;
  j["run_dir"] = s.run_dir;
  j["output_dir"] = s.output_dir;
  out.data["snapshot"] = j;
  ctx.emit(out, [&] { std::cout << s.run_dir << " (" << s.code_digest.substr(0, 12) << ")\n"; });
  return 0;
}

} // namespace

int sync_main(int argc, char** argv) {
  auto flags = std::make_shared<Flags>();
  return cli::run_main(
      "tccp-sync", "Push the project to the cluster; bring job output back", argc, argv,
      [flags](CLI::App& app, cli::Common& /*common*/) {
        Flags& f = *flags;
        auto* push =
            cli::add_command(app, "push", "Push the project (reads a job document on stdin)",
                             [flags](cli::Context& c) { return push_action(c, *flags); });
        add_spec_flags(push, f);
        push->add_option("--allocation", f.allocation,
                         "Allocation id (rodata goes once per allocation)");
        push->add_option("--job", f.job, "The job whose fields apply (default: the first)");
        push->add_flag("--progress", f.progress,
                       "Print JSON Lines: progress, then one result (no job document)");
        push->add_flag("--optimistic", f.optimistic,
                       "Ask the cluster nothing when the project is unchanged since the last "
                       "push (tccp-launch start checks the tree in its own round trip)");

        auto* ls = cli::add_command(app, "ls", "List the paths a push would consider, one per line",
                                    [flags](cli::Context& c) { return ls_action(c, *flags); });
        add_spec_flags(ls, f);
        ls->add_flag("-z", f.nul, "Paths only, each ended by a NUL byte");
        ls->add_option("--job", f.job, "The job whose fields apply (default: the first)");

        auto* pull = cli::add_command(app, "pull", "Download a finished run's output: pull [job]",
                                      [flags](cli::Context& c) { return pull_action(c, *flags); });
        add_spec_flags(pull, f);
        pull->add_option("job", f.job, "Job whose newest run to pull");
        pull->add_option("--run", f.run, "Run id (default: the job's newest run)");

        auto* clean =
            cli::add_command(app, "clean", "Delete old output, keep the latest per job",
                             [flags](cli::Context& c) { return clean_action(c, *flags); });
        add_spec_flags(clean, f);
        clean->add_option("job", f.job, "Only this job");

        auto* snap =
            cli::add_command(app, "snapshot", "Snapshot the pushed tree for a run",
                             [flags](cli::Context& c) { return snapshot_action(c, *flags); });
        add_spec_flags(snap, f);
        snap->add_option("--run", f.run, "Run id (default: the job document's run)");
        snap->add_option("--job", f.job, "Job name recorded with the run");
      });
}

} // namespace tccp::tools
