#include "tccp/slurm/squeue.hpp"

#include <charconv>

#include "tccp/util/strings.hpp"

namespace tccp::slurm {

namespace {
std::optional<std::string> node_or_null(const std::string& s) {
  if (s.empty() || s == "N/A" || s == "(null)") {
    return std::nullopt;
  }
  return s;
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}
} // namespace

GpuSpec parse_gpu_gres(std::string_view text) {
  GpuSpec spec;
  for (auto entry : util::split(util::trim(text), ',')) {
    // Normalise "gres/gpu:a100=2" and "gres:gpu:a100:2" to "gpu:a100:2".
    for (const char* prefix : {"gres:", "gres/"}) {
      if (util::starts_with(entry, prefix)) {
        entry = entry.substr(5);
      }
    }
    for (auto& c : entry) {
      if (c == '=') {
        c = ':';
      }
    }
    // A count may carry an index suffix: "gpu:a100:1(IDX:0)".
    if (auto paren = entry.find('('); paren != std::string::npos) {
      entry.resize(paren);
    }
    auto parts = util::split(entry, ':');
    if (parts.empty() || parts[0] != "gpu") {
      continue;
    }
    if (parts.size() == 1) {
      spec.count = 1;
    } else if (parts.size() == 2) {
      bool numeric =
          !parts[1].empty() && parts[1].find_first_not_of("0123456789") == std::string::npos;
      if (numeric) {
        spec.count = to_int(parts[1]);
      } else {
        spec.type = parts[1];
        spec.count = 1;
      }
    } else {
      spec.type = parts[1];
      spec.count = to_int(parts[2]);
    }
    break;
  }
  return spec;
}

std::optional<SqueueJob> parse_squeue_job(std::string_view line) {
  auto fields = util::split(util::trim(line), '|');
  constexpr std::size_t n = 14;
  if (fields.size() < n) {
    return std::nullopt;
  }
  // The name is last and may itself contain '|'.
  std::string name = fields[n - 1];
  for (std::size_t i = n; i < fields.size(); ++i) {
    name += "|" + fields[i];
  }
  SqueueJob job;
  job.id = fields[0];
  if (job.id.empty() || job.id.find_first_not_of("0123456789_[]-") != std::string::npos) {
    return std::nullopt;
  }
  job.state_name = fields[1];
  job.state = parse_job_state(fields[1]);
  job.node = node_or_null(fields[2]);
  if (job.state == JobState::pending) {
    job.node.reset(); // pending jobs may print a requested node list
  }
  job.partition = fields[3];
  job.gpu = parse_gpu_gres(fields[4]);
  job.memory_mb = parse_memory_mb(fields[5]);
  job.cpus = to_int(fields[6]);
  job.time_left = parse_duration(fields[7]);
  job.time_limit = parse_duration(fields[8]);
  job.elapsed = parse_duration(fields[9]);
  job.start_time = parse_timestamp(fields[10]);
  job.submit_time = parse_timestamp(fields[11]);
  job.reason = fields[12];
  job.name = name;
  return job;
}

std::vector<SqueueJob> parse_squeue_jobs(std::string_view output) {
  std::vector<SqueueJob> jobs;
  for (const auto& line : util::split(output, '\n')) {
    if (auto job = parse_squeue_job(line)) {
      jobs.push_back(std::move(*job));
    }
  }
  return jobs;
}

std::optional<SqueueStep> parse_squeue_step(std::string_view line) {
  auto fields = util::split(util::trim(line), '|');
  if (fields.size() < 4) {
    return std::nullopt;
  }
  auto dot = fields[0].find('.');
  if (dot == std::string::npos || dot == 0) {
    return std::nullopt;
  }
  SqueueStep step;
  step.job_id = fields[0].substr(0, dot);
  step.step_id = fields[0].substr(dot + 1);
  step.node = fields[1];
  step.elapsed = parse_duration(fields[2]);
  step.name = fields[3];
  for (std::size_t i = 4; i < fields.size(); ++i) {
    step.name += "|" + fields[i];
  }
  return step;
}

std::vector<std::string> squeue_jobs_argv(const std::vector<std::string>& names,
                                          const std::vector<std::string>& ids,
                                          IncludeFinished include_finished) {
  std::vector<std::string> argv{"squeue", "-h", "--me"};
  if (include_finished == IncludeFinished::yes) {
    argv.emplace_back("-t");
    argv.emplace_back("all");
  }
  if (!names.empty()) {
    argv.push_back("--name=" + util::join(names, ","));
  }
  if (!ids.empty()) {
    argv.push_back("--jobs=" + util::join(ids, ","));
  }
  argv.emplace_back("-o");
  argv.emplace_back(job_format);
  return argv;
}

} // namespace tccp::slurm
