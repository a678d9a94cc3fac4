#include "tccp/sync/snapshot.hpp"

#include "tccp/core/error.hpp"
#include "tccp/sync/helper.hpp"
#include "tccp/sync/push.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace {
std::vector<std::string> snapshot_args(const SnapshotRequest& request) {
  auto output = project_relative(request.output);
  if (!output) {
    throw Error(ExitCode::config,
                "output '" + request.output + "' is not a path inside the project");
  }
  std::vector<std::string> args{request.project, request.run_id, request.job, *output};
  for (const auto& r : request.rodata) {
    auto rel = project_relative(r);
    if (!rel) {
      throw Error(ExitCode::config, "rodata '" + r + "' is not a directory inside the project");
    }
    args.push_back(*rel);
    args.push_back(rodata_key(*rel));
  }
  return args;
}
} // namespace

std::string snapshot_command(const SnapshotRequest& request) {
  return helper_command(request.remote_root, "snapshot", snapshot_args(request));
}

Snapshot parse_snapshot_answer(const SnapshotRequest& request, const remote::ExecResult& result) {
  std::string out = util::trim(result.out);
  if (result.exit_code != 0 || !util::starts_with(out, "snapshot ")) {
    std::string why = util::trim(result.err);
    if (util::starts_with(why, "tccp-remote: error: ")) {
      why = why.substr(20);
    }
    if (why.empty()) {
      why = "exit status " + std::to_string(result.exit_code);
    }
    throw Error(ExitCode::failed,
                "cannot snapshot the code of run '" + request.run_id + "': " + why,
                "push the project first (tccp-sync push)");
  }
  Snapshot s;
  s.code_digest = out.substr(9);
  s.run_dir =
      request.remote_root + "/" + project_target(request.project) + "/runs/" + request.run_id;
  s.output_dir = s.run_dir + "/" + *project_relative(request.output);
  return s;
}

Snapshot snapshot(remote::Remote& remote, const SnapshotRequest& request) {
  return parse_snapshot_answer(
      request, call_helper(remote, request.remote_root, "snapshot", snapshot_args(request)));
}

} // namespace tccp::sync
