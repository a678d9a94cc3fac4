// The job and cluster objects of the protocol (docs/protocol.md).
#include <algorithm>

#include "tccp/config/job_spec.hpp"

namespace tccp::config {

namespace {
using proto::Json;

Json optional_string(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json string_or_null(const std::string& value) {
  return value.empty() ? Json(nullptr) : Json(value);
}

[[noreturn]] void bad_field(const std::string& field, const std::string& expected) {
  throw Error(ExitCode::protocol,
              "the job document has no valid '" + field + "' (expected " + expected + ")",
              "pipe in the output of 'tccp-config resolve'");
}

const Json& member(const Json& object, const std::string& key, const std::string& path,
                   const std::string& expected) {
  if (!object.is_object() || !object.contains(key)) {
    bad_field(path, expected);
  }
  return object.at(key);
}

std::string get_string(const Json& object, const std::string& key, const std::string& path) {
  const Json& v = member(object, key, path, "a string");
  if (!v.is_string()) {
    bad_field(path, "a string");
  }
  return v.get<std::string>();
}

std::optional<std::string> get_optional_string(const Json& object, const std::string& key,
                                               const std::string& path) {
  if (!object.contains(key) || object.at(key).is_null()) {
    return std::nullopt;
  }
  return get_string(object, key, path);
}

long long get_integer(const Json& object, const std::string& key, const std::string& path) {
  const Json& v = member(object, key, path, "an integer");
  if (!v.is_number_integer()) {
    bad_field(path, "an integer");
  }
  return v.get<long long>();
}

std::vector<std::string> get_strings(const Json& object, const std::string& key,
                                     const std::string& path) {
  const Json& v = member(object, key, path, "a list of strings");
  std::vector<std::string> out;
  if (!v.is_array()) {
    bad_field(path, "a list of strings");
  }
  for (const auto& item : v) {
    if (!item.is_string()) {
      bad_field(path, "a list of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}
} // namespace

const char* origin_name(Origin origin) {
  switch (origin) {
  case Origin::defaults: return "default";
  case Origin::global: return "global";
  case Origin::project: return "project";
  case Origin::job: return "job";
  }
  return "default";
}

std::optional<Origin> JobSpec::origin_of(const std::string& path) const {
  for (const auto& [p, o] : origins) {
    if (p == path) {
      return o;
    }
  }
  return std::nullopt;
}

Json cluster_to_json(const ClusterProfile& p) {
  Json j = Json::object();
  j["name"] = p.name;
  j["host"] = string_or_null(p.host);
  j["port"] = p.port ? Json(*p.port) : Json(nullptr);
  j["user"] = optional_string(p.user);
  j["identity_files"] = p.identity_files;
  j["known_hosts"] = optional_string(p.known_hosts);
  j["askpass"] = optional_string(p.askpass);
  j["proxy_jump"] = optional_string(p.proxy_jump);
  j["remote_root"] = p.remote_root;
  j["default_partition"] = string_or_null(p.default_partition);
  j["gpu_partition"] = p.gpu_partition;
  j["runtime"] = p.runtime;
  j["images"] = Json::object();
  for (const auto& [type, image] : p.images) {
    j["images"][type] = image;
  }
  j["modules"] = p.modules;
  j["system_site_packages"] = p.system_site_packages;
  j["pip_index"] = optional_string(p.pip_index);
  j["python"] = p.python;
  j["alloc_idle_timeout_s"] = p.alloc_idle_timeout_s;
  j["connect_idle_timeout_s"] = p.connect_idle_timeout_s;
  j["gpu_types"] = p.gpu_types;
  return j;
}

ClusterProfile cluster_from_json(const Json& j) {
  ClusterProfile p;
  if (!j.is_object()) {
    bad_field("cluster", "an object");
  }
  auto str = [&](const char* key, std::string& out) {
    if (j.contains(key) && !j.at(key).is_null()) {
      out = get_string(j, key, std::string("cluster.") + key);
    }
  };
  auto opt = [&](const char* key, std::optional<std::string>& out) {
    out = get_optional_string(j, key, std::string("cluster.") + key);
  };
  auto strings = [&](const char* key, std::vector<std::string>& out) {
    if (j.contains(key)) {
      out = get_strings(j, key, std::string("cluster.") + key);
    }
  };
  auto integer = [&](const char* key, long long& out) {
    if (j.contains(key)) {
      out = get_integer(j, key, std::string("cluster.") + key);
    }
  };
  str("name", p.name);
  str("host", p.host);
  if (j.contains("port") && !j.at("port").is_null()) {
    p.port = static_cast<int>(get_integer(j, "port", "cluster.port"));
  }
  opt("user", p.user);
  strings("identity_files", p.identity_files);
  opt("known_hosts", p.known_hosts);
  opt("askpass", p.askpass);
  opt("proxy_jump", p.proxy_jump);
  str("remote_root", p.remote_root);
  str("default_partition", p.default_partition);
  str("gpu_partition", p.gpu_partition);
  str("runtime", p.runtime);
  if (j.contains("images")) {
    const Json& images = j.at("images");
    if (!images.is_object()) {
      bad_field("cluster.images", "an object");
    }
    for (const auto& [type, image] : images.items()) {
      if (!image.is_string()) {
        bad_field("cluster.images." + type, "a string");
      }
      p.images[type] = image.get<std::string>();
    }
  }
  strings("modules", p.modules);
  if (j.contains("system_site_packages")) {
    if (!j.at("system_site_packages").is_boolean()) {
      bad_field("cluster.system_site_packages", "true or false");
    }
    p.system_site_packages = j.at("system_site_packages").get<bool>();
  }
  opt("pip_index", p.pip_index);
  str("python", p.python);
  integer("alloc_idle_timeout_s", p.alloc_idle_timeout_s);
  integer("connect_idle_timeout_s", p.connect_idle_timeout_s);
  strings("gpu_types", p.gpu_types);
  return p;
}

Json job_to_json(const JobSpec& job, WithOrigins with_origins) {
  Json j = Json::object();
  j["project"] = job.project;
  j["project_dir"] = job.project_dir;
  j["job"] = job.job;
  j["type"] = job.type;
  j["script"] = optional_string(job.script);
  j["package"] = optional_string(job.package);
  j["args"] = job.args;
  j["env_file"] = job.env_file;
  j["output"] = job.output;
  j["cache"] = job.cache;
  j["rodata"] = job.rodata;
  j["environment"] = Json::object();
  for (const auto& [name, value] : job.environment) {
    j["environment"][name] = value;
  }
  j["ports"] = job.ports;
  const Resources& r = job.resources;
  Json res = Json::object();
  res["gpu_type"] = optional_string(r.gpu_type);
  res["gpu_count"] = r.gpu_count;
  res["memory_mb"] = r.memory_mb;
  res["cpus"] = r.cpus;
  res["time_limit_s"] = r.time_limit_s;
  res["partition"] = optional_string(r.partition);
  res["exclude_nodes"] = r.exclude_nodes;
  j["resources"] = res;
  j["cluster"] = cluster_to_json(job.cluster);
  if (with_origins == WithOrigins::yes) {
    Json origins = Json::object();
    for (const auto& [path, origin] : job.origins) {
      origins[path] = origin_name(origin);
    }
    j["origins"] = origins;
  }
  return j;
}

JobSpec job_from_json(const Json& data) {
  if (!data.is_object()) {
    throw Error(ExitCode::protocol, "the job document's data is not an object",
                "pipe in the output of 'tccp-config resolve'");
  }
  JobSpec job;
  job.project = get_string(data, "project", "project");
  job.project_dir = get_string(data, "project_dir", "project_dir");
  job.job = get_string(data, "job", "job");
  job.type = get_string(data, "type", "type");
  job.script = get_optional_string(data, "script", "script");
  job.package = get_optional_string(data, "package", "package");
  if (job.script.has_value() == job.package.has_value()) {
    bad_field("script", "exactly one of script and package");
  }
  job.args = get_strings(data, "args", "args");
  job.env_file = get_string(data, "env_file", "env_file");
  job.output = get_string(data, "output", "output");
  job.cache = get_string(data, "cache", "cache");
  job.rodata = get_strings(data, "rodata", "rodata");
  const Json& env = member(data, "environment", "environment", "an object");
  if (!env.is_object()) {
    bad_field("environment", "an object");
  }
  for (const auto& [name, value] : env.items()) {
    if (!value.is_string()) {
      bad_field("environment." + name, "a string");
    }
    job.environment.emplace_back(name, value.get<std::string>());
  }
  const Json& ports = member(data, "ports", "ports", "a list of integers");
  if (!ports.is_array()) {
    bad_field("ports", "a list of integers");
  }
  for (const auto& port : ports) {
    if (!port.is_number_integer()) {
      bad_field("ports", "a list of integers");
    }
    job.ports.push_back(port.get<int>());
  }
  const Json& res = member(data, "resources", "resources", "an object");
  Resources& r = job.resources;
  r.gpu_type = get_optional_string(res, "gpu_type", "resources.gpu_type");
  r.gpu_count = static_cast<int>(get_integer(res, "gpu_count", "resources.gpu_count"));
  r.memory_mb = get_integer(res, "memory_mb", "resources.memory_mb");
  r.cpus = static_cast<int>(get_integer(res, "cpus", "resources.cpus"));
  r.time_limit_s = get_integer(res, "time_limit_s", "resources.time_limit_s");
  r.partition = get_optional_string(res, "partition", "resources.partition");
  r.exclude_nodes = get_strings(res, "exclude_nodes", "resources.exclude_nodes");
  job.cluster = cluster_from_json(member(data, "cluster", "cluster", "an object"));
  if (data.contains("origins") && data.at("origins").is_object()) {
    for (const auto& [path, origin] : data.at("origins").items()) {
      for (Origin o : {Origin::defaults, Origin::global, Origin::project, Origin::job}) {
        if (origin.is_string() && origin.get<std::string>() == origin_name(o)) {
          job.origins.emplace_back(path, o);
        }
      }
    }
  }
  return job;
}

proto::Envelope job_envelope(const JobSpec& job, WithOrigins with_origins) {
  proto::Envelope env;
  env.type = "job";
  env.data = job_to_json(job, with_origins);
  return env;
}

} // namespace tccp::config
