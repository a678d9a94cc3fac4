#include "tccp/slurm/sbatch.hpp"

#include <algorithm>

#include "tccp/util/strings.hpp"

namespace tccp::slurm {

std::string choose_partition(const ResourceRequest& request, const std::string& gpu_partition,
                             const std::string& default_partition) {
  if (!request.partition.empty()) {
    return request.partition;
  }
  if (request.gpu.count > 0 && !gpu_partition.empty()) {
    return gpu_partition;
  }
  return default_partition;
}

std::vector<std::string> holder_sbatch_options(const ResourceRequest& request,
                                               const std::string& job_name) {
  std::vector<std::string> args{"--parsable", "--job-name=" + job_name, "--no-requeue", "--nodes=1",
                                "--ntasks=1"};
  if (request.gpu.count > 0) {
    std::string gres = "--gres=gpu:";
    if (!request.gpu.type.empty()) {
      gres += request.gpu.type + ":";
    }
    gres += std::to_string(request.gpu.count);
    args.push_back(gres);
  }
  args.push_back("--mem=" + std::to_string(request.memory_mb) + "M");
  args.push_back("--cpus-per-task=" + std::to_string(request.cpus));
  args.push_back("--time=" + format_time_limit(request.time_limit_s));
  if (!request.partition.empty()) {
    args.push_back("--partition=" + request.partition);
  }
  if (!request.exclude_nodes.empty()) {
    args.push_back("--exclude=" + util::join(request.exclude_nodes, ","));
  }
  return args;
}

long long holder_time_limit_s(long long job_s, const Duration& partition_max) {
  long long want = job_s + std::max<long long>(3600, job_s);
  if (partition_max.kind == Duration::Kind::seconds) {
    want = std::min(want, partition_max.seconds);
  }
  return std::max(want, job_s);
}

std::optional<std::string> parse_sbatch_job_id(std::string_view output) {
  for (const auto& line : util::split(output, '\n')) {
    std::string t = util::trim(line);
    if (auto semi = t.find(';'); semi != std::string::npos) {
      t.resize(semi);
    }
    if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) {
      return t;
    }
  }
  return std::nullopt;
}

namespace {
std::string describe_request(const ResourceRequest& r) {
  std::string s;
  if (r.gpu.count > 0) {
    s += std::to_string(r.gpu.count) + " " + (r.gpu.type.empty() ? "GPU" : r.gpu.type + " GPU") +
         (r.gpu.count > 1 ? "s" : "") + ", ";
  }
  s += std::to_string(r.memory_mb) + " MB of memory, " + std::to_string(r.cpus) + " CPU" +
       (r.cpus > 1 ? "s" : "");
  if (!r.partition.empty()) {
    s += " in partition '" + r.partition + "'";
  }
  return s;
}
} // namespace

Error explain_sbatch_refusal(std::string_view stderr_text, const ResourceRequest& request) {
  // The last "error:" line carries SLURM's reason.
  std::string raw;
  for (const auto& line : util::split(stderr_text, '\n')) {
    std::string t = util::trim(line);
    if (t.empty()) {
      continue;
    }
    auto pos = t.find("error: ");
    raw = pos == std::string::npos ? t : t.substr(pos + 7);
  }
  const std::string suffix = raw.empty() ? "" : " (SLURM: " + raw + ")";
  auto has = [&](std::string_view needle) { return raw.find(needle) != std::string::npos; };
  if (has("Invalid partition name") || has("invalid partition")) {
    return Error(ExitCode::refused,
                 "the cluster has no partition '" + request.partition + "'" + suffix,
                 "set 'partition:' to one that 'sinfo' lists, or remove it to use the default");
  }
  if (has("Requested node configuration is not available")) {
    return Error(ExitCode::refused,
                 "no node of the cluster can provide " + describe_request(request) + suffix,
                 request.gpu.count > 0
                     ? "check the GPU type and count with 'tccp gpus', and the memory and cpus"
                     : "ask for less memory or fewer cpus");
  }
  if (has("Memory required by task is not available") || has("memory")) {
    return Error(ExitCode::refused,
                 "the cluster cannot give " + std::to_string(request.memory_mb) +
                     " MB of memory to one job" + suffix,
                 "lower 'memory:' in tccp.yaml");
  }
  if (has("Invalid generic resource") || has("Invalid GRES")) {
    return Error(ExitCode::refused,
                 "the cluster does not know GPU type '" + request.gpu.type + "'" + suffix,
                 "see 'tccp gpus' for the types it has");
  }
  if (has("QOS") || has("qos") || has("accounting/QOS policy")) {
    return Error(ExitCode::refused,
                 "your QOS or account limits refuse " + describe_request(request) + suffix,
                 "ask for fewer resources or less time, or wait for your other jobs to end");
  }
  if (has("time limit")) {
    return Error(ExitCode::refused,
                 "the cluster refuses a time limit of " + format_time_limit(request.time_limit_s) +
                     suffix,
                 "lower 'time:' in tccp.yaml");
  }
  if (has("account")) {
    return Error(ExitCode::refused, "the cluster refused the job's account" + suffix,
                 "ask your cluster's support which account to use");
  }
  return Error(ExitCode::refused,
               "the cluster refused the allocation" + (raw.empty() ? "" : ": " + raw));
}

bool covers(const SqueueJob& a, const ResourceRequest& r) {
  if (r.gpu.count > 0) {
    if (a.gpu.count < r.gpu.count) {
      return false;
    }
    if (!r.gpu.type.empty() && a.gpu.type != r.gpu.type) {
      return false;
    }
  } else if (a.gpu.count > 0) {
    return false;
  }
  if (!a.memory_mb || *a.memory_mb < r.memory_mb) {
    return false;
  }
  if (a.cpus < r.cpus) {
    return false;
  }
  if (!r.partition.empty() && a.partition != r.partition) {
    return false;
  }
  if (a.node &&
      std::find(r.exclude_nodes.begin(), r.exclude_nodes.end(), *a.node) != r.exclude_nodes.end()) {
    return false;
  }
  return a.time_left.covers(r.time_limit_s);
}

} // namespace tccp::slurm
