#pragma once
/// tccp-logs: a run's output (logs, tail, follow), its init log, the log in
/// an editor, and attaching to the live program (view, attach).
#include <string>

#include "tccp/remote/remote.hpp"
#include "tccp/tools/jobs.hpp"

namespace tccp::tools {

/// How a followed run ended, from the helper's closing status line.
struct FollowEnd {
  std::string run_id;
  std::string state;
  std::string exit_code;
  std::string signal;
  std::string reason;
};

/// Streams a run's log to stdout until the run ends (its init log to
/// stderr while it initialises); `mode` is "follow" (from the start) or
/// "tailfollow" (the last `lines` first).
FollowEnd follow_log(remote::Remote& remote, const JobContext& context, const std::string& selector,
                     const std::string& mode, int lines);

/// Attaches to a run on this terminal: its recent output, then the live
/// program through its terminal holder (input reaches it; Ctrl+\ detaches).
/// Returns the program's exit status when it ended, 0 when detached.
int view_run(remote::Remote& remote, const JobContext& context, const std::string& selector);

/// The tool's main.
int logs_main(int argc, char** argv);

} // namespace tccp::tools
