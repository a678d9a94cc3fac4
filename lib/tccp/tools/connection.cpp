#include "tccp/tools/connection.hpp"

#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "tccp/config/project.hpp"
#include "tccp/core/error.hpp"
#include "tccp/remote/mux_remote.hpp"
#include "tccp/ssh/credentials.hpp"
#include "tccp/ssh/prompt.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::tools {

namespace {

// FNV-1a: a stable short name for an endpoint (socket names must not
// change between builds).
std::string short_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(digits[(h >> (60 - 4 * i)) & 0xF]);
  }
  return out;
}

std::string safe_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty()) {
    out = "cluster";
  }
  return out.substr(0, 40);
}

std::filesystem::path runtime_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0') {
    std::error_code ec;
    if (std::filesystem::is_directory(xdg, ec)) {
      return std::filesystem::path(xdg) / "tccp";
    }
  }
  return tccp_home() / "run";
}

ssh::ConnectContext make_context(const DirectOptions& options, ssh::Prompter* prompter,
                                 const ssh::CredentialStore* store) {
  ssh::ConnectContext ctx;
  ctx.prompter = prompter;
  ctx.host_keys = options.host_keys;
  ctx.credentials = store;
  ctx.capture_password = options.capture_password;
  ctx.info = [](const std::string& line) { std::cerr << line << '\n'; };
  return ctx;
}

} // namespace

std::filesystem::path tccp_home() {
  return config::tccp_home();
}

MasterPaths master_paths(const config::ClusterProfile& profile) {
  std::string key = safe_name(profile.name) + "-" +
                    short_hash(profile.host + "|" + std::to_string(profile.port.value_or(0)) + "|" +
                               profile.user.value_or("") + "|" + profile.proxy_jump.value_or(""));
  std::filesystem::path dir = std::filesystem::absolute(runtime_dir());
  // Unix socket paths are limited to 107 bytes.
  if ((dir / (key + ".sock")).string().size() > 100) {
    dir = std::filesystem::path("/tmp") / ("tccp-" + std::to_string(::getuid()));
  }
  return MasterPaths{dir, dir / (key + ".sock"), dir / (key + ".lock"), dir / (key + ".log")};
}

ssh::Target resolve_target(const config::ClusterProfile& profile,
                           const std::optional<std::string>& ssh_config_file) {
  ssh::TargetSpec spec;
  spec.host = profile.host;
  spec.port = profile.port;
  spec.user = profile.user;
  spec.identity_files = profile.identity_files;
  if (profile.known_hosts) {
    spec.known_hosts_files.push_back(*profile.known_hosts);
  }
  spec.proxy_jump = profile.proxy_jump;
  spec.askpass = profile.askpass;
  spec.tccp_known_hosts = (tccp_home() / "known_hosts").string();
  return ssh::resolve_target(spec, ssh::SshConfig::load_default(ssh_config_file));
}

std::unique_ptr<ssh::Session> connect_session(const config::ClusterProfile& profile,
                                              const DirectOptions& options,
                                              std::optional<ssh::Secret>* captured) {
  ssh::Target target = resolve_target(profile, options.ssh_config_file);
  ssh::PromptOptions po;
  po.askpass = target.askpass;
  po.batch = target.batch_mode;
  po.allow_terminal = options.allow_terminal;
  auto prompter = ssh::make_prompter(po);
  ssh::CredentialStore store(tccp_home());
  ssh::ConnectContext ctx = make_context(options, prompter.get(), &store);
  auto session = ssh::Session::connect(target, ctx);
  if (captured != nullptr) {
    *captured = std::move(ctx.captured_password);
  }
  return session;
}

std::unique_ptr<remote::Remote> open_direct(const config::ClusterProfile& profile,
                                            const DirectOptions& options) {
  auto session = connect_session(profile, options);
  auto connection = std::make_unique<ssh::Connection>(std::move(session), ssh::MuxOptions{});
  return std::make_unique<remote::SshRemote>(std::move(connection));
}

std::unique_ptr<remote::Remote> open_remote(const config::ClusterProfile& profile) {
  if (profile.host.empty()) {
    throw Error(ExitCode::config, "no cluster configured",
                "run 'tccp setup' to name the cluster's login host");
  }
  MasterPaths paths = master_paths(profile);
  if (auto master = remote::connect_master(paths.socket.string(), profile.user.value_or("") +
                                                                      (profile.user ? "@" : "") +
                                                                      profile.host)) {
    return master;
  }
  return open_direct(profile, DirectOptions{});
}

} // namespace tccp::tools
