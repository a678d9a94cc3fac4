// Precedence (defaults < global < project < job) and the GPU auto-bumps.
#include <algorithm>

#include "tccp/config/project.hpp"
#include "tccp/config/values.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::config {

namespace {
constexpr long long gpu_memory_mb = 32LL * 1024;
constexpr long long gpu_80gb_memory_mb = 64LL * 1024;
constexpr int gpu_cpus = 4;

// The layers from the most specific to the least; `job` may be null.
struct Layers {
  const Settings* job;
  const Settings& project;
  const Settings& global;

  // The value of `member` in the most specific layer that writes it.
  template <typename T>
  std::optional<std::pair<T, Origin>> pick(std::optional<T> Settings::*member) const {
    if (job != nullptr && job->*member) {
      return std::pair<T, Origin>{*(job->*member), Origin::job};
    }
    if (project.*member) {
      return std::pair<T, Origin>{*(project.*member), Origin::project};
    }
    if (global.*member) {
      return std::pair<T, Origin>{*(global.*member), Origin::global};
    }
    return std::nullopt;
  }
};

template <typename T>
T take(JobSpec& spec, const std::string& path, const std::optional<std::pair<T, Origin>>& picked,
       T fallback) {
  if (picked) {
    spec.origins.emplace_back(path, picked->second);
    return picked->first;
  }
  spec.origins.emplace_back(path, Origin::defaults);
  return fallback;
}
} // namespace

std::string choose_job(const Project& project, const std::optional<std::string>& requested) {
  auto names = project.job_names();
  if (requested) {
    if (std::find(names.begin(), names.end(), *requested) != names.end()) {
      return *requested;
    }
    auto guess = util::did_you_mean(*requested, names);
    std::string hint =
        guess ? "did you mean '" + *guess + "'?" : "the jobs are: " + util::join(names, ", ");
    if (!project.has_jobs_block) {
      hint = "without a 'jobs:' block the one job is 'main'";
    }
    throw Error(ExitCode::usage, "no job '" + *requested + "' in " + project.file, hint);
  }
  if (names.size() == 1) {
    return names.front();
  }
  throw Error(ExitCode::usage,
              project.file + " has " + std::to_string(names.size()) +
                  " jobs, name one: " + util::join(names, ", "),
              "e.g. 'tccp run " + names.front() + "'");
}

JobSpec resolve_job(const Project& project, const GlobalConfig& global,
                    const std::optional<std::string>& requested) {
  JobSpec spec;
  spec.job = choose_job(project, requested);
  const Settings* job = nullptr;
  for (const auto& entry : project.jobs) {
    if (entry.name == spec.job) {
      job = &entry.settings;
    }
  }
  Layers layers{job, project.settings, global.settings};
  spec.cluster = global.cluster;
  spec.project = project.display_name();
  spec.origins.emplace_back("project", project.name ? Origin::project : Origin::defaults);
  spec.project_dir = project.dir.string();
  spec.origins.emplace_back("job", project.has_jobs_block ? Origin::job : Origin::defaults);

  spec.type = take(spec, "type", layers.pick(&Settings::type), std::string("python"));

  // script xor package: the most specific layer naming either wins.
  std::optional<Origin> program_origin;
  for (auto [layer, origin] :
       {std::pair{job, Origin::job}, std::pair{&project.settings, Origin::project},
        std::pair{&global.settings, Origin::global}}) {
    if (layer != nullptr && (layer->script || layer->package)) {
      spec.script = layer->script;
      spec.package = layer->package;
      program_origin = origin;
      break;
    }
  }
  if (!program_origin) {
    spec.script = "main.py";
    program_origin = Origin::defaults;
  }
  spec.origins.emplace_back(spec.script ? "script" : "package", *program_origin);

  spec.args = take(spec, "args", layers.pick(&Settings::args), std::vector<std::string>{});
  spec.env_file = take(spec, "env_file", layers.pick(&Settings::env_file), std::string(".env"));
  spec.output = take(spec, "output", layers.pick(&Settings::output), std::string("output"));
  spec.cache = take(spec, "cache", layers.pick(&Settings::cache), std::string("cache"));
  spec.rodata = take(spec, "rodata", layers.pick(&Settings::rodata), std::vector<std::string>{});

  // environment merges per variable; a more specific layer replaces a value.
  for (auto [layer, origin] :
       {std::pair{&global.settings, Origin::global}, std::pair{&project.settings, Origin::project},
        std::pair{job, Origin::job}}) {
    if (layer == nullptr) {
      continue;
    }
    for (const auto& [name, value] : layer->environment) {
      auto it = std::find_if(spec.environment.begin(), spec.environment.end(),
                             [&](const auto& kv) { return kv.first == name; });
      if (it == spec.environment.end()) {
        spec.environment.emplace_back(name, value);
      } else {
        it->second = value;
      }
    }
  }
  for (const auto& [name, value] : spec.environment) {
    Origin origin = Origin::global;
    for (auto [layer, o] :
         {std::pair{job, Origin::job}, std::pair{&project.settings, Origin::project}}) {
      if (layer != nullptr && std::any_of(layer->environment.begin(), layer->environment.end(),
                                          [&](const auto& kv) { return kv.first == name; })) {
        origin = o;
        break;
      }
    }
    spec.origins.emplace_back("environment." + name, origin);
  }

  spec.ports = take(spec, "ports", layers.pick(&Settings::ports), std::vector<int>{});

  Resources& r = spec.resources;
  auto gpu_type = layers.pick(&Settings::gpu_type);
  auto gpu_count = layers.pick(&Settings::gpu_count);
  r.gpu_type = gpu_type ? gpu_type->first : std::nullopt;
  Origin type_origin = gpu_type ? gpu_type->second : Origin::defaults;
  Origin count_origin = Origin::defaults;
  if (gpu_count) {
    r.gpu_count = gpu_count->first;
    count_origin = gpu_count->second;
  } else if (r.gpu_type) {
    r.gpu_count = 1; // a type without a count is one GPU
    count_origin = type_origin;
  }
  if (r.gpu_count == 0) {
    r.gpu_type.reset();
  }
  spec.origins.emplace_back("resources.gpu_type", type_origin);
  spec.origins.emplace_back("resources.gpu_count", count_origin);
  const bool wants_gpu = r.gpu_count > 0;

  // The auto-bumps replace defaults only: a written value always wins.
  long long memory_default = 4096;
  int cpus_default = 1;
  if (wants_gpu) {
    memory_default = r.gpu_type && is_80gb_gpu(*r.gpu_type) ? gpu_80gb_memory_mb : gpu_memory_mb;
    cpus_default = gpu_cpus;
  }
  r.memory_mb =
      take(spec, "resources.memory_mb", layers.pick(&Settings::memory_mb), memory_default);
  r.cpus = take(spec, "resources.cpus", layers.pick(&Settings::cpus), cpus_default);
  r.time_limit_s =
      take(spec, "resources.time_limit_s", layers.pick(&Settings::time_limit_s), 3600LL);

  auto partition = layers.pick(&Settings::partition);
  if (partition && partition->first) {
    r.partition = partition->first;
    spec.origins.emplace_back("resources.partition", partition->second);
  } else {
    // auto: the GPU partition when a GPU is asked, else the profile's default.
    const auto& fields = global.cluster_fields;
    auto written = [&](const char* f) {
      return std::find(fields.begin(), fields.end(), f) != fields.end();
    };
    Origin origin = partition ? partition->second : Origin::defaults;
    if (wants_gpu) {
      r.partition = global.cluster.gpu_partition;
      if (!partition && written("gpu_partition")) {
        origin = Origin::global;
      }
    } else if (!global.cluster.default_partition.empty()) {
      r.partition = global.cluster.default_partition;
      if (!partition) {
        origin = Origin::global;
      }
    }
    spec.origins.emplace_back("resources.partition", origin);
  }
  r.exclude_nodes = take(spec, "resources.exclude_nodes", layers.pick(&Settings::exclude_nodes),
                         std::vector<std::string>{});
  return spec;
}

std::vector<std::string> check_files(const JobSpec& job) {
  std::vector<std::string> warnings;
  std::filesystem::path root(job.project_dir);
  std::error_code ec;
  if (job.script && !std::filesystem::is_regular_file(root / *job.script, ec)) {
    warnings.push_back("script '" + *job.script + "' of job '" + job.job +
                       "' is not in the project");
  }
  for (const auto& dir : job.rodata) {
    if (!std::filesystem::is_directory(root / dir, ec)) {
      warnings.push_back("rodata directory '" + dir + "' is not in the project");
    }
  }
  return warnings;
}

} // namespace tccp::config
