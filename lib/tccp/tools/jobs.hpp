#pragma once
/// What tccp-alloc, tccp-launch and tccp-logs share: calling the remote
/// helper, the job document they read, run status records, and the one-call
/// listing of a project's runs with the cluster as the truth.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tccp/cli/app.hpp"
#include "tccp/proto/envelope.hpp"
#include "tccp/remote/helper.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/slurm/sacct.hpp"
#include "tccp/slurm/squeue.hpp"

namespace tccp::tools {

// --- the remote helper -------------------------------------------------------

/// Helper commands run through remote::call_helper (found by argument-
/// dependent lookup from the tools); these add the streaming and terminal
/// forms the job tools need.

/// A helper command with its output handed to the sinks as it arrives.
remote::ExecResult stream_helper(remote::Remote& remote, const std::string& root,
                                 const std::string& command, const std::vector<std::string>& args,
                                 const remote::Sink& on_stdout, const remote::Sink& on_stderr);

/// A helper command on a pseudo-terminal wired to ours; returns its exit status.
int interactive_helper(remote::Remote& remote, const std::string& root, const std::string& command,
                       const std::vector<std::string>& args);

/// The helper's "tccp-remote: error: ..." message (or its last stderr line),
/// for an Error.
std::string helper_message(const remote::ExecResult& result);

// --- the job document -------------------------------------------------------

/// The fields of a `job` envelope the job tools need.
struct JobContext {
  proto::Envelope envelope; ///< as read; tools add their object and pass it on
  std::string project;
  std::string job; ///< empty when no job was named
  std::string remote_root;
  proto::Json cluster = proto::Json::object();
};

/// Reads the context from a `job` envelope. Throws Error(protocol) naming a
/// missing field.
JobContext context_from_envelope(proto::Envelope envelope);

/// The context of a standalone command: the `job` envelope on stdin when
/// stdin is a pipe or a file (`tccp-config resolve | tccp-launch jobs`),
/// else the project in the current directory and $TCCP_HOME/config.yaml
/// (`job` may be empty: no job named).
JobContext load_context(const std::string& job);

/// The connection to the context's cluster: tccp-connect's master when it
/// runs, else a direct one; `host: local` means tccp runs on the cluster
/// itself (a login node) and commands run here.
std::unique_ptr<remote::Remote> connect(const JobContext& context);

/// True when the user is at a terminal: stdout is one, and stdin is one or
/// can be made one (when stdin carried a document, the keyboard is reached
/// again through /dev/tty, which then becomes stdin).
bool at_terminal();

// --- runs -------------------------------------------------------------------

/// A run's status file as the helper prints it ("s|key=value" lines).
struct RunRecord {
  std::map<std::string, std::string> fields;

  /// The field's value, or "" when absent.
  std::string get(const std::string& key) const;
  std::string id() const { return get("run_id"); }
  std::string state() const { return get("state"); }
  /// initializing, running and (before tccp looked at the allocation) killed.
  bool alive() const;
};

/// Parses "s|key=value" lines into a record (other lines are ignored).
RunRecord parse_run_record(std::string_view output);

/// The `run` JSON object: id, job, project, state, node, alloc_id, step_id,
/// created_at, init_started_at, started_at, ended_at, duration_s,
/// exit_code, signal, reason, failed_stage, code_digest, remote_dir, venv.
/// Unknown values are null; duration_s runs to `now` for a live run.
proto::Json run_to_json(const RunRecord& run, long long now);

/// Exit status for attach-like commands: the program's own for a finished
/// or failed run, 130 for cancelled, 1 for lost, timeout or an init failure.
int run_exit_status(const std::string& state, const std::string& exit_code);

/// What `jobs` fetched in its one round trip.
struct Listing {
  long long now = 0;
  std::vector<slurm::SqueueJob> allocations;
  std::vector<slurm::SqueueStep> steps;
  std::set<std::string> steps_checked; ///< allocations whose steps were listed
  std::vector<slurm::SacctRecord> sacct;
  std::vector<RunRecord> runs;
};

/// Parses the output of the helper's `jobs` command.
Listing parse_listing(std::string_view output);

/// A state tccp found out for a run whose runner could not write it.
struct Verdict {
  std::string run_id;
  std::string state;  ///< lost or timeout
  std::string reason; ///< in words, with SLURM's state
  /// False while SLURM may still say more (a killed run whose allocation is
  /// ending): shown, not recorded.
  bool final = true;
};

/// Applies the cluster's truth to runs that still look alive: a run whose
/// allocation ended is `timeout` when the allocation hit its time limit and
/// `lost` otherwise (cancelled from outside, node failure, preemption...),
/// with the reason; a run whose allocation is alive but whose step is gone
/// is `lost`. A run its runner marked `killed` while the allocation still
/// runs (or completes) gets a provisional verdict until the allocation's
/// end is known, or for a minute. Updates `listing.runs` and returns the
/// verdicts (record the final ones on the cluster).
std::vector<Verdict> judge_runs(Listing& listing);

/// `jobs` for a project: one round trip (plus one to record verdicts, only
/// when there are new ones). Returns the listing with the verdicts applied.
Listing list_runs(remote::Remote& remote, const JobContext& context);

/// The newest live run (initializing or running, with a node) of job or run
/// id `selector` in a listing; any job's when `selector` is empty. Throws
/// Error(failed) in words when there is none.
const RunRecord& newest_live_run(const Listing& listing, const std::string& selector);

/// Rewrites the local cache of the project's runs ($TCCP_HOME/projects/
/// <project>/runs.json) from a listing. The cache is never the truth: it is
/// rebuilt from the cluster by every `jobs`.
void write_runs_cache(const std::string& project, const proto::Json& runs);

/// The allocation `tccp-alloc ensure` last gave this project on the
/// context's cluster, remembered in $TCCP_HOME/projects/<project>/. A hint
/// only: a run started on it on trust is checked with SLURM first, in the
/// same round trip (see cmd_run_start).
struct RememberedAllocation {
  proto::Json allocation;      ///< the `allocation` object ensure emitted
  long long remembered_at = 0; ///< epoch seconds
};
std::optional<RememberedAllocation> remembered_allocation(const JobContext& context);
void remember_allocation(const JobContext& context, const proto::Json& allocation);
void forget_allocation(const JobContext& context);

/// A run id: <job>-<UTC yyyymmddThhmmssZ>-<4 hex>.
std::string make_run_id(const std::string& job, long long now_epoch);

} // namespace tccp::tools
