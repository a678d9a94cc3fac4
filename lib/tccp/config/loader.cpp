// Reading tccp.yaml and config.yaml with yaml-cpp into Settings, with a
// located message for every bad input.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "tccp/config/project.hpp"
#include "tccp/config/values.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::config {

namespace {

enum class Layer { global, project, job };

const std::vector<std::string> resource_keys{"gpu",  "gpu_count", "memory",       "cpus",
                                             "time", "partition", "exclude_nodes"};
const std::vector<std::string> project_only_keys{"name",  "type",   "env", "output",
                                                 "cache", "rodata", "jobs"};
const std::vector<std::string> job_keys{"script", "package", "args", "ports", "environment"};
const std::vector<std::string> cluster_keys{"name",
                                            "host",
                                            "port",
                                            "user",
                                            "identity_files",
                                            "known_hosts",
                                            "askpass",
                                            "proxy_jump",
                                            "remote_root",
                                            "default_partition",
                                            "gpu_partition",
                                            "runtime",
                                            "images",
                                            "modules",
                                            "system_site_packages",
                                            "pip_index",
                                            "python",
                                            "alloc_idle_timeout",
                                            "connect_idle_timeout",
                                            "gpu_types"};
const std::vector<std::string> runtimes{"none", "podman", "apptainer", "singularity"};

std::vector<std::string> allowed_keys(Layer layer) {
  std::vector<std::string> keys;
  if (layer == Layer::project) {
    keys = {"name",   "type",  "script", "package",     "args",  "env",
            "output", "cache", "rodata", "environment", "ports", "jobs"};
  } else if (layer == Layer::global) {
    keys = {"type",   "script", "package", "args",        "env",
            "output", "cache",  "rodata",  "environment", "ports"};
  } else {
    keys = job_keys;
  }
  keys.insert(keys.end(), resource_keys.begin(), resource_keys.end());
  if (layer == Layer::global) {
    keys.emplace_back("cluster");
  }
  return keys;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// What was written, for "got ..." messages.
std::string what_is(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return "nothing";
  }
  if (node.IsMap()) {
    return "a map";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  return "'" + node.Scalar() + "'";
}

class Reader {
public:
  Reader(std::string file, std::vector<std::string> extra_gpu_types)
      : m_file(std::move(file)), m_extra_gpu_types(std::move(extra_gpu_types)) {}

  Location at(const YAML::Node& node, const Location& fallback) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.line < 0) {
      return fallback;
    }
    return Location{m_file, mark.line + 1, mark.column + 1};
  }

  [[noreturn]] static void fail(const Location& where, const std::string& field,
                                const std::string& problem, const std::string& expected,
                                const std::string& hint = {}) {
    throw Error(ExitCode::config,
                where.to_string() + ": " + field + ": " + problem + ", expected " + expected, hint);
  }

  // A scalar, or a message "got a list, expected ...".
  std::string scalar(const YAML::Node& node, const std::string& field, const Location& key_at,
                     const std::string& expected) const {
    if (!node.IsScalar()) {
      fail(at(node, key_at), field, "got " + what_is(node), expected);
    }
    return node.Scalar();
  }

  long long integer(const YAML::Node& node, const std::string& field, const Location& key_at,
                    long long min, long long max, const std::string& expected) const {
    std::string text = scalar(node, field, key_at, expected);
    auto n = parse_integer(text);
    if (!n) {
      fail(at(node, key_at), field, "'" + text + "' is not a whole number", expected);
    }
    if (*n < min || *n > max) {
      fail(at(node, key_at), field, text + " is out of range", expected);
    }
    return *n;
  }

  bool boolean(const YAML::Node& node, const std::string& field, const Location& key_at) const {
    const std::string expected = "true or false";
    std::string text = util::to_lower(scalar(node, field, key_at, expected));
    if (text == "true" || text == "yes" || text == "on") {
      return true;
    }
    if (text == "false" || text == "no" || text == "off") {
      return false;
    }
    fail(at(node, key_at), field, "'" + node.Scalar() + "' is not a boolean", expected);
  }

  // A path relative to the project root that stays inside it.
  std::string path(const YAML::Node& node, const std::string& field, const Location& key_at,
                   const std::string& what) const {
    const std::string expected = "a path inside the project (e.g. " + what + ")";
    std::string text = scalar(node, field, key_at, expected);
    if (util::trim(text).empty()) {
      fail(at(node, key_at), field, "got an empty path", expected);
    }
    std::filesystem::path p(text);
    if (p.is_absolute() || util::starts_with(text, "~")) {
      fail(at(node, key_at), field, "'" + text + "' is not relative to the project", expected);
    }
    std::string normal = p.lexically_normal().string();
    if (normal == ".." || util::starts_with(normal, "../")) {
      fail(at(node, key_at), field, "'" + text + "' is outside the project", expected);
    }
    while (normal.size() > 1 && normal.back() == '/') {
      normal.pop_back();
    }
    return normal;
  }

  std::vector<std::string> string_list(const YAML::Node& node, const std::string& field,
                                       const Location& key_at, const std::string& expected,
                                       char split_on = '\0') const {
    std::vector<std::string> out;
    if (node.IsNull()) {
      return out;
    }
    if (node.IsScalar()) {
      if (split_on == '\0') {
        out.push_back(node.Scalar());
      } else {
        for (const auto& part : util::split(node.Scalar(), split_on)) {
          if (!util::trim(part).empty()) {
            out.push_back(util::trim(part));
          }
        }
      }
      return out;
    }
    if (!node.IsSequence()) {
      fail(at(node, key_at), field, "got " + what_is(node), expected);
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(
          scalar(node[i], field + "[" + std::to_string(i) + "]", at(node, key_at), expected));
    }
    return out;
  }

  std::vector<std::string> path_list(const YAML::Node& node, const std::string& field,
                                     const Location& key_at) const {
    std::vector<std::string> out;
    if (node.IsNull()) {
      return out;
    }
    if (node.IsScalar()) {
      out.push_back(path(node, field, key_at, "data"));
      return out;
    }
    if (!node.IsSequence()) {
      fail(at(node, key_at), field, "got " + what_is(node), "a list of directories (e.g. [data])");
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(path(node[i], field + "[" + std::to_string(i) + "]", at(node, key_at), "data"));
    }
    return out;
  }

  std::vector<std::string> args(const YAML::Node& node, const std::string& field,
                                const Location& key_at) const {
    const std::string expected = "a string of arguments (e.g. \"--epochs 10\") or a list";
    if (node.IsNull()) {
      return {};
    }
    if (node.IsScalar()) {
      try {
        return util::shell_split(node.Scalar());
      } catch (const std::invalid_argument&) {
        fail(at(node, key_at), field, "'" + node.Scalar() + "' has an unterminated quote",
             expected);
      }
    }
    return string_list(node, field, key_at, expected);
  }

  std::vector<int> ports(const YAML::Node& node, const std::string& field,
                         const Location& key_at) const {
    const std::string expected = "a port number 1-65535";
    std::vector<int> out;
    if (node.IsNull()) {
      return out;
    }
    if (node.IsScalar()) {
      out.push_back(static_cast<int>(integer(node, field, key_at, 1, 65535, expected)));
      return out;
    }
    if (!node.IsSequence()) {
      fail(at(node, key_at), field, "got " + what_is(node), "a list of port numbers (e.g. [6006])");
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(static_cast<int>(integer(node[i], field + "[" + std::to_string(i) + "]",
                                             at(node, key_at), 1, 65535, expected)));
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>>
  environment(const YAML::Node& node, const std::string& field, const Location& key_at) const {
    std::vector<std::pair<std::string, std::string>> out;
    if (node.IsNull()) {
      return out;
    }
    if (!node.IsMap()) {
      fail(at(node, key_at), field, "got " + what_is(node),
           "a map of variables (e.g. WANDB_PROJECT: my-experiment)");
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      Location name_at = at(it->first, key_at);
      std::string name = scalar(it->first, field, key_at, "a variable name");
      std::string path = field + "." + name;
      bool valid = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) == 0;
      for (char c : name) {
        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_');
      }
      if (!valid) {
        fail(name_at, path, "'" + name + "' is not a variable name",
             "letters, digits and '_', not starting with a digit");
      }
      for (const auto& [existing, value] : out) {
        if (existing == name) {
          fail(name_at, path, "written twice", "each variable once");
        }
      }
      out.emplace_back(name, scalar(it->second, path, name_at, "a string value"));
    }
    return out;
  }

  std::string gpu_types_text() const {
    std::string text;
    for (const auto& t : known_gpu_types()) {
      text += t + ", ";
    }
    for (const auto& t : m_extra_gpu_types) {
      text += t + ", ";
    }
    return text + "or none";
  }

  // `gpu: none`, `gpu: a100`, `gpu: a100-80gb:2`. Returns the type (nullopt
  // for none) and the count when written.
  std::pair<std::optional<std::string>, std::optional<int>>
  gpu(const YAML::Node& node, const std::string& field, const Location& key_at) const {
    const std::string expected = "a GPU type (" + gpu_types_text() + "), optionally with :COUNT";
    if (node.IsNull()) {
      return {std::nullopt, 0};
    }
    std::string text = util::trim(scalar(node, field, key_at, expected));
    auto colon = text.find(':');
    std::string type = text.substr(0, colon);
    if (util::to_lower(type) == "none") {
      if (colon != std::string::npos) {
        fail(at(node, key_at), field, "'" + text + "' has a count for no GPU", "'none' alone");
      }
      return {std::nullopt, 0};
    }
    std::optional<int> count;
    if (colon != std::string::npos) {
      auto n = parse_integer(text.substr(colon + 1));
      if (!n || *n < 1 || *n > 64) {
        fail(at(node, key_at), field, "'" + text + "' has a bad count",
             "TYPE:COUNT with a count from 1 to 64 (e.g. a100-80gb:2)");
      }
      count = static_cast<int>(*n);
    }
    if (contains(m_extra_gpu_types, type)) {
      return {type, count};
    }
    std::string lower = util::to_lower(type);
    if (contains(known_gpu_types(), lower)) {
      return {lower, count};
    }
    std::vector<std::string> candidates = known_gpu_types();
    candidates.insert(candidates.end(), m_extra_gpu_types.begin(), m_extra_gpu_types.end());
    auto guess = util::did_you_mean(type, candidates);
    fail(at(node, key_at), field, "'" + type + "' is not a known GPU type", expected,
         guess ? "did you mean '" + *guess + "'?" : "");
  }

  // One layer: the top of config.yaml, the top of tccp.yaml, or one job.
  // Keys handled by the caller (name, jobs, cluster) are skipped here.
  Settings settings(const YAML::Node& map, Layer layer, const std::string& prefix,
                    const Location& map_at) const {
    Settings s;
    std::set<std::string> seen;
    std::optional<Location> gpu_at;
    bool gpu_has_count = false;
    std::optional<Location> script_at;
    std::optional<Location> package_at;
    std::optional<Location> count_at;
    const auto allowed = allowed_keys(layer);
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
      Location key_at = at(key_node, map_at);
      if (!key_node.IsScalar()) {
        fail(key_at, prefix.empty() ? "field" : prefix,
             "got " + what_is(key_node) + " as a field name", "a field name");
      }
      const std::string key = key_node.Scalar();
      const std::string field = prefix + key;
      if (!seen.insert(key).second) {
        fail(key_at, field, "written twice", "each field once");
      }
      check_known(key, field, layer, allowed, key_at);
      if (key == "name" || key == "jobs" || key == "cluster") {
        continue;
      }
      if (key == "type") {
        std::string type = scalar(value, field, key_at, "python or python-pytorch");
        if (!contains(env_types(), type)) {
          auto guess = util::did_you_mean(type, env_types());
          fail(at(value, key_at), field, "'" + type + "' is not an environment type",
               "python or python-pytorch", guess ? "did you mean '" + *guess + "'?" : "");
        }
        s.type = type;
      } else if (key == "script") {
        s.script = path(value, field, key_at, "train.py");
        script_at = key_at;
      } else if (key == "package") {
        const std::string expected = "a Python package name (e.g. myapp or myapp.cli)";
        std::string pkg = scalar(value, field, key_at, expected);
        bool valid = !pkg.empty() && std::isdigit(static_cast<unsigned char>(pkg[0])) == 0 &&
                     pkg.front() != '.' && pkg.back() != '.';
        for (char c : pkg) {
          valid =
              valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.');
        }
        if (!valid) {
          fail(at(value, key_at), field, "'" + pkg + "' is not a package name", expected);
        }
        s.package = pkg;
        package_at = key_at;
      } else if (key == "args") {
        s.args = args(value, field, key_at);
      } else if (key == "env") {
        s.env_file = path(value, field, key_at, ".env");
      } else if (key == "output") {
        s.output = path(value, field, key_at, "output");
      } else if (key == "cache") {
        s.cache = path(value, field, key_at, "cache");
      } else if (key == "rodata") {
        s.rodata = path_list(value, field, key_at);
      } else if (key == "environment") {
        s.environment = environment(value, field, key_at);
      } else if (key == "ports") {
        s.ports = ports(value, field, key_at);
      } else if (key == "gpu") {
        auto [type, count] = gpu(value, field, key_at);
        s.gpu_type = type;
        gpu_has_count = count.has_value() && type.has_value();
        if (count) {
          s.gpu_count = count;
        }
        gpu_at = key_at;
      } else if (key == "gpu_count") {
        count_at = key_at;
      } else if (key == "memory") {
        const std::string expected =
            "a size with an optional K, M, G or T suffix (e.g. 32G; a plain number is MB)";
        std::string text = scalar(value, field, key_at, expected);
        auto mb = parse_memory_mb(text);
        if (!mb) {
          fail(at(value, key_at), field, "'" + text + "' is not a memory size", expected);
        }
        s.memory_mb = *mb;
      } else if (key == "cpus") {
        s.cpus = static_cast<int>(integer(value, field, key_at, 1, 100000, "a whole number >= 1"));
      } else if (key == "time") {
        const std::string expected =
            "a SLURM time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. \"8:00:00\")";
        std::string text = scalar(value, field, key_at, expected);
        auto seconds = parse_time_limit_s(text);
        if (!seconds) {
          fail(at(value, key_at), field, "'" + text + "' is not a time limit", expected);
        }
        s.time_limit_s = *seconds;
      } else if (key == "partition") {
        if (value.IsNull()) {
          s.partition = std::optional<std::string>();
        } else {
          std::string p = util::trim(scalar(value, field, key_at, "a partition name or auto"));
          if (p.empty() || p == "auto") {
            s.partition = std::optional<std::string>();
          } else {
            s.partition = p;
          }
        }
      } else if (key == "exclude_nodes") {
        s.exclude_nodes =
            string_list(value, field, key_at, "node names, comma-separated or a list", ',');
      }
    }
    // gpu_count is read last so that it can be checked against `gpu:`.
    if (count_at) {
      const std::string field = prefix + "gpu_count";
      const YAML::Node value = map["gpu_count"];
      int count = static_cast<int>(integer(value, field, *count_at, 0, 64, "a whole number >= 0"));
      Location where = at(value, *count_at);
      if (s.gpu_type && !s.gpu_type->has_value() && count > 0) {
        fail(where, field, std::to_string(count) + " GPUs with 'gpu: none'",
             "0, or a GPU type in 'gpu'");
      }
      if (gpu_has_count && s.gpu_count && *s.gpu_count != count) {
        fail(where, field,
             std::to_string(count) + " contradicts 'gpu: " + **s.gpu_type + ":" +
                 std::to_string(*s.gpu_count) + "'",
             "one count, in 'gpu' or in 'gpu_count'");
      }
      if (s.gpu_type && s.gpu_type->has_value() && count == 0) {
        fail(where, field, "0 GPUs with 'gpu: " + **s.gpu_type + "'", "at least 1, or 'gpu: none'");
      }
      s.gpu_count = count;
    }
    if (script_at && package_at) {
      const Location& later =
          script_at->line > package_at->line ||
                  (script_at->line == package_at->line && script_at->column > package_at->column)
              ? *script_at
              : *package_at;
      bool later_is_script = &later == &*script_at;
      fail(later, prefix + (later_is_script ? "script" : "package"),
           std::string("given together with '") + (later_is_script ? "package" : "script") + "'",
           "either script or package, not both");
    }
    return s;
  }

  void check_known(const std::string& key, const std::string& field, Layer layer,
                   const std::vector<std::string>& allowed, const Location& key_at) const {
    if (contains(allowed, key)) {
      return;
    }
    if (layer == Layer::job && contains(project_only_keys, key)) {
      fail(key_at, field, "not a job field", "it at the top level of tccp.yaml");
    }
    if (layer == Layer::global && (key == "name" || key == "jobs")) {
      fail(key_at, field, "not a global field", "it in the project's tccp.yaml");
    }
    if (layer == Layer::global && contains(cluster_keys, key)) {
      fail(key_at, field, "not a global default", "it under 'cluster:'");
    }
    if (layer == Layer::project && (key == "cluster" || contains(cluster_keys, key))) {
      if (key != "name") {
        fail(key_at, field, "not a project field",
             key == "cluster" ? "it in ~/.tccp/config.yaml"
                              : "it under 'cluster:' in ~/.tccp/config.yaml");
      }
    }
    auto guess = util::did_you_mean(key, allowed);
    fail(key_at, field, "unknown field", "one of: " + util::join(allowed, ", "),
         guess ? "did you mean '" + *guess + "'?" : "");
  }

  std::string string_field(const YAML::Node& value, const std::string& field,
                           const Location& key_at, const std::string& expected) const {
    std::string text = util::trim(scalar(value, field, key_at, expected));
    if (text.empty()) {
      fail(at(value, key_at), field, "got an empty string", expected);
    }
    return text;
  }

  std::pair<ClusterProfile, std::vector<std::string>> cluster(const YAML::Node& map,
                                                              const Location& map_at) const {
    ClusterProfile p;
    std::vector<std::string> fields;
    if (map.IsNull()) {
      return {p, fields};
    }
    if (!map.IsMap()) {
      fail(at(map, map_at), "cluster", "got " + what_is(map),
           "a map of cluster settings (e.g. host: login.cluster.edu)");
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      Location key_at = at(it->first, map_at);
      std::string key = scalar(it->first, "cluster", map_at, "a field name");
      std::string field = "cluster." + key;
      const YAML::Node v = it->second;
      if (contains(fields, key)) {
        fail(key_at, field, "written twice", "each field once");
      }
      if (!contains(cluster_keys, key)) {
        auto guess = util::did_you_mean(key, cluster_keys);
        fail(key_at, field, "unknown field", "one of: " + util::join(cluster_keys, ", "),
             guess ? "did you mean '" + *guess + "'?" : "");
      }
      fields.push_back(key);
      if (key == "name") {
        p.name = string_field(v, field, key_at, "a profile name");
      } else if (key == "host") {
        p.host = string_field(v, field, key_at, "a host name, address or ssh alias");
      } else if (key == "port") {
        p.port = static_cast<int>(integer(v, field, key_at, 1, 65535, "a port number 1-65535"));
      } else if (key == "user") {
        p.user = string_field(v, field, key_at, "a user name");
      } else if (key == "identity_files") {
        p.identity_files = string_list(v, field, key_at, "a list of key files");
      } else if (key == "known_hosts") {
        p.known_hosts = string_field(v, field, key_at, "a file path");
      } else if (key == "askpass") {
        p.askpass = string_field(v, field, key_at, "a program path");
      } else if (key == "proxy_jump") {
        p.proxy_jump = string_field(v, field, key_at, "a host ([user@]host[:port])");
      } else if (key == "remote_root") {
        p.remote_root = string_field(v, field, key_at, "a directory on the cluster");
      } else if (key == "default_partition") {
        p.default_partition = string_field(v, field, key_at, "a partition name");
      } else if (key == "gpu_partition") {
        p.gpu_partition = string_field(v, field, key_at, "a partition name");
      } else if (key == "runtime") {
        const std::string expected = "one of: " + util::join(runtimes, ", ");
        std::string r = string_field(v, field, key_at, expected);
        if (!contains(runtimes, r)) {
          auto guess = util::did_you_mean(r, runtimes);
          fail(at(v, key_at), field, "'" + r + "' is not a container runtime", expected,
               guess ? "did you mean '" + *guess + "'?" : "");
        }
        p.runtime = r;
      } else if (key == "images") {
        if (!v.IsMap()) {
          fail(at(v, key_at), field, "got " + what_is(v),
               "a map of environment type to image (e.g. python: python:3.11-slim)");
        }
        for (auto img = v.begin(); img != v.end(); ++img) {
          Location type_at = at(img->first, key_at);
          std::string type = scalar(img->first, field, key_at, "an environment type");
          if (!contains(env_types(), type)) {
            auto guess = util::did_you_mean(type, env_types());
            fail(type_at, field + "." + type, "not an environment type", "python or python-pytorch",
                 guess ? "did you mean '" + *guess + "'?" : "");
          }
          p.images[type] = string_field(img->second, field + "." + type, type_at, "an image");
        }
      } else if (key == "modules") {
        p.modules = string_list(v, field, key_at, "a list of module names");
      } else if (key == "system_site_packages") {
        p.system_site_packages = boolean(v, field, key_at);
      } else if (key == "pip_index") {
        p.pip_index = string_field(v, field, key_at, "an index URL");
      } else if (key == "python") {
        p.python = string_field(v, field, key_at, "a Python command (e.g. python3)");
      } else if (key == "alloc_idle_timeout" || key == "connect_idle_timeout") {
        const std::string expected = "a duration: seconds, or with s, m, h, d (e.g. 30m)";
        std::string text = scalar(v, field, key_at, expected);
        auto seconds = parse_duration_s(text);
        if (!seconds) {
          fail(at(v, key_at), field, "'" + text + "' is not a duration", expected);
        }
        (key == "alloc_idle_timeout" ? p.alloc_idle_timeout_s : p.connect_idle_timeout_s) =
            *seconds;
      } else if (key == "gpu_types") {
        p.gpu_types = string_list(v, field, key_at, "a list of GPU type names");
      }
    }
    return {p, fields};
  }

  const std::string& file() const { return m_file; }

private:
  std::string m_file;
  std::vector<std::string> m_extra_gpu_types;
};

// The document, or a located message for YAML syntax errors.
YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    Location where{file, e.mark.line + 1, e.mark.column + 1};
    throw Error(ExitCode::config, where.to_string() + ": not valid YAML: " + e.msg,
                "check the indentation (spaces, not tabs) and quote values with ':' or '#'");
  }
}

void require_map(const YAML::Node& root, const std::string& file) {
  if (!root.IsMap()) {
    Reader r(file, {});
    Location where = r.at(root, Location{file, 1, 1});
    throw Error(ExitCode::config,
                where.to_string() + ": got " + what_is(root) +
                    " at the top level, expected a map of fields (e.g. script: train.py)");
  }
}

void merge_cluster_images(ClusterProfile& profile) {
  for (const auto& [type, image] : default_images()) {
    profile.images.try_emplace(type, image);
  }
}

// "~/..." for paths under $HOME, for messages.
std::string display_path(const std::filesystem::path& path) {
  std::string home = util::home_dir().string();
  std::string p = path.string();
  if (!home.empty() && home != "/" && util::starts_with(p, home + "/")) {
    return "~" + p.substr(home.size());
  }
  return p;
}

std::string read_config_file(const std::filesystem::path& path, const std::string& file) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) {
    int saved = std::filesystem::is_directory(path, ec) ? EISDIR : errno;
    throw Error(ExitCode::config, file + ": cannot read: " + util::to_lower(std::strerror(saved)),
                "make it a readable file");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

std::string Location::to_string() const {
  if (line <= 0) {
    return file;
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::filesystem::path tccp_home() {
  if (const char* env = std::getenv("TCCP_HOME"); env != nullptr && *env != '\0') {
    return env;
  }
  return util::home_dir() / ".tccp";
}

GlobalConfig parse_global(const std::string& text, const std::string& file) {
  GlobalConfig g;
  g.exists = true;
  YAML::Node root = parse_yaml(text, file);
  if (!root.IsNull()) {
    require_map(root, file);
    Reader first(file, {});
    Location top{file, 1, 1};
    if (root["cluster"]) {
      Location key_at = top;
      for (auto it = root.begin(); it != root.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == "cluster") {
          key_at = first.at(it->first, top);
        }
      }
      std::tie(g.cluster, g.cluster_fields) = first.cluster(root["cluster"], key_at);
    }
    Reader reader(file, g.cluster.gpu_types);
    g.settings = reader.settings(root, Layer::global, "", top);
  }
  merge_cluster_images(g.cluster);
  return g;
}

GlobalConfig load_global() {
  std::filesystem::path path = tccp_home() / "config.yaml";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    GlobalConfig g;
    g.path = path;
    merge_cluster_images(g.cluster);
    return g;
  }
  std::string file = display_path(path);
  GlobalConfig g = parse_global(read_config_file(path, file), file);
  g.path = path;
  return g;
}

ClusterProfile load_cluster_profile() {
  return load_global().cluster;
}

std::filesystem::path find_project_root(const std::filesystem::path& start) {
  std::filesystem::path dir = std::filesystem::absolute(start).lexically_normal();
  if (dir.has_filename() == false && dir.has_parent_path() && dir != dir.root_path()) {
    dir = dir.parent_path(); // "a/b/" -> "a/b"
  }
  for (std::filesystem::path d = dir;; d = d.parent_path()) {
    std::error_code ec;
    if (std::filesystem::exists(d / "tccp.yaml", ec)) {
      return d;
    }
    if (d == d.root_path() || d.parent_path() == d) {
      break;
    }
  }
  throw Error(ExitCode::config,
              "no tccp.yaml in '" + display_path(dir) + "' or any parent directory",
              "run 'tccp register' to create one here");
}

Project parse_project(const std::string& text, const std::string& file,
                      const std::filesystem::path& dir, const GlobalConfig& global) {
  Project project;
  project.dir = dir;
  project.file = file;
  YAML::Node root = parse_yaml(text, file);
  Location top{file, 1, 1};
  if (root.IsNull()) {
    return project;
  }
  require_map(root, file);
  Reader reader(file, global.cluster.gpu_types);
  project.settings = reader.settings(root, Layer::project, "", top);
  bool has_default_program = project.settings.script || project.settings.package ||
                             global.settings.script || global.settings.package;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.Scalar();
    Location key_at = reader.at(it->first, top);
    const YAML::Node value = it->second;
    if (key == "name") {
      const std::string expected = "a project name (no '/')";
      std::string name = util::trim(reader.scalar(value, key, key_at, expected));
      if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
        Reader::fail(reader.at(value, key_at), key, "'" + name + "' is not a project name",
                     expected);
      }
      project.name = name;
    } else if (key == "jobs") {
      project.has_jobs_block = true;
      const std::string expected = "a map of job names to a script or job fields "
                                   "(e.g. train: train.py)";
      if (!value.IsMap() || value.size() == 0) {
        Reader::fail(reader.at(value, key_at), key,
                     value.IsMap() ? std::string("got no jobs") : "got " + what_is(value),
                     expected);
      }
      for (auto job = value.begin(); job != value.end(); ++job) {
        Location name_at = reader.at(job->first, key_at);
        std::string name = reader.scalar(job->first, key, key_at, "a job name");
        std::string field = "jobs." + name;
        bool valid = !name.empty() && std::isalnum(static_cast<unsigned char>(name[0])) != 0;
        for (char c : name) {
          valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                            c == '-' || c == '.');
        }
        if (!valid) {
          Reader::fail(name_at, field, "'" + name + "' is not a job name",
                       "letters, digits, '_', '-' and '.', starting with a letter or digit");
        }
        for (const auto& existing : project.jobs) {
          if (existing.name == name) {
            Reader::fail(name_at, field, "written twice", "each job once");
          }
        }
        JobEntry entry;
        entry.name = name;
        entry.location = name_at;
        const YAML::Node body = job->second;
        if (body.IsScalar()) {
          // Shorthand `train: train.py`.
          YAML::Node shorthand = body;
          entry.settings.script = reader.path(shorthand, field, name_at, "train.py");
        } else if (body.IsMap()) {
          entry.settings = reader.settings(body, Layer::job, field + ".", name_at);
        } else if (!body.IsNull()) {
          Reader::fail(reader.at(body, name_at), field, "got " + what_is(body),
                       "a script (train: train.py) or a map of job fields");
        }
        if (!entry.settings.script && !entry.settings.package && !has_default_program) {
          Reader::fail(name_at, field, "names no script or package",
                       "'script: FILE.py' or 'package: NAME' in the job "
                       "(or a project-level script)",
                       "e.g. '" + name + ": " + name + ".py'");
        }
        project.jobs.push_back(std::move(entry));
      }
    }
  }
  return project;
}

Project load_project(const std::filesystem::path& start, const GlobalConfig& global) {
  std::filesystem::path root = find_project_root(start);
  std::filesystem::path abs_start = std::filesystem::absolute(start).lexically_normal();
  std::string file = (root / "tccp.yaml").lexically_relative(abs_start).string();
  if (file.empty()) {
    file = (root / "tccp.yaml").string();
  }
  return parse_project(read_config_file(root / "tccp.yaml", file), file, root, global);
}

std::string Project::display_name() const {
  if (name) {
    return *name;
  }
  std::string base = dir.filename().string();
  return base.empty() ? "project" : base;
}

std::vector<std::string> Project::job_names() const {
  if (!has_jobs_block) {
    return {"main"};
  }
  std::vector<std::string> names;
  for (const auto& job : jobs) {
    names.push_back(job.name);
  }
  return names;
}

} // namespace tccp::config
