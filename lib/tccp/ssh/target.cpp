#include "tccp/ssh/target.hpp"

#include <algorithm>
#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

#include "tccp/core/error.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

namespace {

constexpr int max_jump_depth = 8;

std::string local_user() {
  if (const passwd* pw = ::getpwuid(::getuid())) {
    return pw->pw_name;
  }
  const char* u = std::getenv("USER");
  return u != nullptr ? u : "root";
}

std::string expand_path(const std::string& p) {
  if (util::starts_with(p, "~/")) {
    return (util::home_dir() / p.substr(2)).string();
  }
  return p;
}

Target resolve(const TargetSpec& spec, const SshConfig& config, int depth) {
  if (depth > max_jump_depth) {
    throw Error(ExitCode::config, "ProxyJump chain for '" + spec.host + "' is too long",
                "check ~/.ssh/config for a ProxyJump loop");
  }
  HostOptions o = config.lookup(spec.host);
  Target t;
  t.alias = spec.host;
  t.hostname = o.hostname ? expand_tokens(*o.hostname, spec.host, "", 0, spec.host) : spec.host;
  t.port = spec.port ? *spec.port : o.port.value_or(22);
  if (t.port <= 0 || t.port > 65535) {
    throw Error(ExitCode::config,
                "invalid port " + std::to_string(t.port) + " for '" + spec.host + "'");
  }
  t.user = spec.user ? *spec.user : o.user.value_or(local_user());
  for (const auto& f : spec.identity_files) {
    t.identity_files.push_back(expand_tokens(f, t.hostname, t.user, t.port, spec.host));
  }
  for (const auto& f : o.identity_files) {
    auto p = expand_tokens(f, t.hostname, t.user, t.port, spec.host);
    if (std::find(t.identity_files.begin(), t.identity_files.end(), p) == t.identity_files.end()) {
      t.identity_files.push_back(p);
    }
  }
  t.identities_only = o.identities_only.value_or(false);
  t.pubkey = o.pubkey_authentication.value_or(true);
  t.password = o.password_authentication.value_or(true);
  t.kbd_interactive = o.kbd_interactive_authentication.value_or(true);
  t.preferred_auth = o.preferred_authentications.value_or(std::vector<std::string>{});
  t.host_key_alias = o.host_key_alias;
  t.batch_mode = o.batch_mode.value_or(false);
  t.askpass = spec.askpass;
  if (o.connect_timeout_s && *o.connect_timeout_s > 0) {
    t.connect_timeout = std::chrono::seconds(*o.connect_timeout_s);
  }
  if (o.server_alive_interval_s && *o.server_alive_interval_s > 0) {
    t.alive_interval = std::chrono::seconds(*o.server_alive_interval_s);
  }
  if (o.server_alive_count_max && *o.server_alive_count_max > 0) {
    t.alive_count_max = *o.server_alive_count_max;
  }
  // Host keys: ssh_config's files (or OpenSSH's defaults), then tccp's own,
  // then the profile's.
  auto add_files = [&](const std::vector<std::string>& files) {
    for (const auto& f : files) {
      if (f != "none" && !f.empty()) {
        t.known_hosts_files.push_back(
            expand_path(expand_tokens(f, t.hostname, t.user, t.port, spec.host)));
      }
    }
  };
  add_files(o.user_known_hosts_files.value_or(
      std::vector<std::string>{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}));
  add_files(o.global_known_hosts_files.value_or(
      std::vector<std::string>{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}));
  if (!spec.tccp_known_hosts.empty()) {
    t.known_hosts_files.push_back(spec.tccp_known_hosts);
  }
  add_files(spec.known_hosts_files);
  t.tccp_known_hosts = spec.tccp_known_hosts;

  std::string jump = spec.proxy_jump ? *spec.proxy_jump : o.proxy_jump.value_or("none");
  if ((jump == "none" || jump.empty()) && o.proxy_command && *o.proxy_command != "none") {
    throw Error(ExitCode::config,
                "ssh_config gives '" + spec.host + "' a ProxyCommand, which tccp cannot run",
                "use ProxyJump in ~/.ssh/config (or proxy_jump in the cluster profile)");
  }
  if (jump != "none" && !jump.empty()) {
    for (const auto& hop : util::split(jump, ',')) {
      HostPort hp = parse_host_port(hop);
      TargetSpec js;
      js.host = hp.host;
      js.port = hp.port;
      js.user = hp.user;
      js.askpass = spec.askpass;
      js.tccp_known_hosts = spec.tccp_known_hosts;
      js.known_hosts_files = spec.known_hosts_files;
      Target jt = resolve(js, config, depth + 1);
      // A jump host's own ProxyJump comes before it.
      for (auto& inner : jt.jumps) {
        t.jumps.push_back(std::move(inner));
      }
      jt.jumps.clear();
      t.jumps.push_back(std::move(jt));
    }
  }
  return t;
}

} // namespace

std::string Target::describe() const {
  std::string s = user + "@" + alias;
  if (port != 22 && alias == hostname) {
    s += ":" + std::to_string(port);
  }
  return s;
}

std::string Target::account() const {
  return user + "@" + hostname + ":" + std::to_string(port);
}

std::string Target::host_key_name() const {
  return host_key_alias.value_or(hostname);
}

HostPort parse_host_port(const std::string& text) {
  HostPort hp;
  std::string rest = util::trim(text);
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    hp.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) {
      throw Error(ExitCode::config, "malformed host '" + text + "'");
    }
    hp.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        throw Error(ExitCode::config, "malformed host '" + text + "'");
      }
      port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.find(':');
             colon != std::string::npos && rest.find(':', colon + 1) == std::string::npos) {
    hp.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    hp.host = rest;
  }
  if (!port.empty()) {
    try {
      std::size_t used = 0;
      int p = std::stoi(port, &used);
      if (used != port.size() || p <= 0 || p > 65535) {
        throw std::invalid_argument("port");
      }
      hp.port = p;
    } catch (const std::exception&) {
      throw Error(ExitCode::config, "invalid port in '" + text + "'");
    }
  }
  if (hp.host.empty()) {
    throw Error(ExitCode::config, "missing host name in '" + text + "'");
  }
  return hp;
}

Target resolve_target(const TargetSpec& spec, const SshConfig& config) {
  if (spec.host.empty()) {
    throw Error(ExitCode::config, "no cluster host configured", "run 'tccp setup' or pass --host");
  }
  return resolve(spec, config, 0);
}

} // namespace tccp::ssh
