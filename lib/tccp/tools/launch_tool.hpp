#pragma once
/// tccp-launch: starts a run on an allocation (environment init + the
/// program under a terminal holder, as one SLURM step), cancels and
/// restarts runs, lists them (`jobs`) and shows one (`info`).
#include <string>
#include <vector>

#include "tccp/proto/envelope.hpp"
#include "tccp/remote/remote.hpp"
#include "tccp/tools/jobs.hpp"

namespace tccp::tools {

/// The run spec the remote helper's run_start reads: shell assignments
/// (spec_project, spec_job, spec_run_id, spec_alloc, spec_node, spec_type,
/// spec_script, spec_package, spec_args, spec_extra_args, spec_env_file,
/// spec_output, spec_cache, spec_time_limit[_s], spec_python,
/// spec_pip_index, spec_system_site_packages, spec_runtime,
/// spec_code_digest) and a tccp_export_environment function, every value
/// quoted with util::shell_quote. `data` is an enriched job document (with
/// `allocation`). Throws Error(protocol) when a field is missing and
/// Error(config) for an environment variable name the shell cannot export.
std::string build_run_spec(const proto::Json& data, const std::string& run_id,
                           const std::vector<std::string>& extra_args);

/// The program's arguments: the configured ones (a list, or a string split
/// like a shell would) followed by `extra_args`.
std::vector<std::string> program_args(const proto::Json& data,
                                      const std::vector<std::string>& extra_args);

/// `start`: one round trip that snapshots the synced tree, registers the run
/// on its allocation and starts its step; returns the envelope with
/// data.run added once the step runs. Throws Error(failed) with the hint to
/// run again when the allocation ended meanwhile. What the document took on
/// trust (an allocation not asked of SLURM, a push deferred as unchanged) is
/// checked in that same round trip; when it was wrong, nothing started, and
/// the allocation is asked for and the tree pushed (tccp-alloc ensure |
/// tccp-sync push) before one more try. `printer` (optional) says so.
proto::Envelope start_run(remote::Remote& remote, const JobContext& context,
                          const std::vector<std::string>& extra_args,
                          const term::Printer* printer = nullptr);

/// `cancel`: stops a run (during init or while it runs); returns its final
/// record.
RunRecord cancel_run(remote::Remote& remote, const JobContext& context,
                     const std::string& selector);

/// The tool's main.
int launch_main(int argc, char** argv);

} // namespace tccp::tools
