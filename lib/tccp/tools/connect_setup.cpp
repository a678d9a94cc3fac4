#include "tccp/tools/connect_setup.hpp"

#include <iostream>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "tccp/config/cluster_profile.hpp"
#include "tccp/core/error.hpp"
#include "tccp/ssh/credentials.hpp"
#include "tccp/ssh/prompt.hpp"
#include "tccp/tools/connection.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::tools {

namespace {

std::optional<ssh::Secret> read_stdin_line() {
  std::string line;
  char c = 0;
  while (true) {
    ssize_t r = ::read(STDIN_FILENO, &c, 1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0 || c == '\n') {
      break;
    }
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  ssh::Secret s(std::move(line));
  if (s.empty()) {
    return std::nullopt;
  }
  return s;
}

} // namespace

void add_setup_flags(CLI::App& setup, SetupFlags& f) {
  setup.add_option("--auth", f.auth, "How you log in: key (key or agent) or password (+ MFA)")
      ->check(CLI::IsMember({"key", "password"}));
  setup.add_flag("--store-password", f.store_password,
                 "Keep the password typed while connecting (desktop keyring, else a 0600 file)");
  setup.add_flag("--store-password-from-stdin", f.store_password_from_stdin,
                 "Read the password from the first line of stdin and store it");
  setup.add_flag("--no-check", f.no_check, "Write the profile without connecting");
}

void write_cluster_config(const std::filesystem::path& path, const std::string& host,
                          const std::optional<int>& port, const std::optional<std::string>& user,
                          const std::vector<std::string>& identity_files,
                          const std::optional<std::string>& askpass,
                          const std::optional<std::string>& proxy_jump,
                          const std::optional<std::string>& known_hosts) {
  YAML::Node root;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    try {
      root = YAML::LoadFile(path.string());
    } catch (const YAML::Exception& e) {
      throw Error(ExitCode::config, path.string() + ": " + e.what(),
                  "fix the file first; setup keeps every other setting in it");
    }
  }
  if (!root || root.IsNull()) {
    root = YAML::Node(YAML::NodeType::Map);
  }
  if (!root.IsMap()) {
    throw Error(ExitCode::config, path.string() + ": expected a mapping at the top level");
  }
  YAML::Node c = root["cluster"];
  if (!c || !c.IsMap()) {
    c = YAML::Node(YAML::NodeType::Map);
  }
  c["host"] = host;
  auto set_or_remove = [&](const char* key, const auto& value) {
    if (value) {
      c[key] = *value;
    } else if (c[key]) {
      c.remove(key);
    }
  };
  set_or_remove("port", port);
  set_or_remove("user", user);
  set_or_remove("askpass", askpass);
  set_or_remove("proxy_jump", proxy_jump);
  set_or_remove("known_hosts", known_hosts);
  if (!identity_files.empty()) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& f : identity_files) {
      list.push_back(f);
    }
    c["identity_files"] = list;
  } else if (c["identity_files"]) {
    c.remove("identity_files");
  }
  root["cluster"] = c;
  YAML::Emitter out;
  out << root;
  std::string text = std::string(out.c_str()) + "\n";
  try {
    if (path.has_parent_path()) {
      util::ensure_private_dir(path.parent_path());
    }
    util::atomic_write_file(path, text, 0600);
  } catch (const std::exception& e) {
    throw Error(ExitCode::config, "cannot write " + path.string() + ": " + e.what());
  }
}

int run_setup(const SetupFlags& f, cli::Context& ctx) {
  std::filesystem::path home = tccp_home();
  config::ClusterProfile current = config::load_cluster_profile();

  std::unique_ptr<ssh::Prompter> tty;
  {
    ssh::PromptOptions po;
    po.allow_terminal = true;
    auto p = ssh::make_prompter(po);
    if (p->on_terminal()) {
      tty = std::move(p);
    }
  }
  auto ask = [&](const std::string& question, const std::string& fallback) {
    if (!tty) {
      return fallback;
    }
    auto answer =
        tty->ask(question + (fallback.empty() ? "" : " [" + fallback + "]") + ": ", ssh::Echo::on);
    std::string a = answer ? util::trim(answer->value()) : std::string();
    return a.empty() ? fallback : a;
  };

  std::string host =
      !f.host.empty() ? f.host : ask("Cluster login host (or ssh alias)", current.host);
  if (host.empty()) {
    throw Error(ExitCode::usage, "setup needs the cluster's login host",
                "run 'tccp setup' on a terminal, or pass --host HOST");
  }
  config::ClusterProfile profile = host == current.host ? current : config::ClusterProfile{};
  profile.host = host;
  if (f.port) {
    profile.port = f.port;
  }
  if (!f.identity.empty()) {
    profile.identity_files = f.identity;
  }
  if (!f.askpass.empty()) {
    profile.askpass = f.askpass;
  }
  if (!f.proxy_jump.empty()) {
    profile.proxy_jump = f.proxy_jump;
  }
  if (!f.known_hosts.empty()) {
    profile.known_hosts = f.known_hosts;
  }
  std::string default_user = resolve_target(profile).user;
  std::string user =
      !f.user.empty() ? f.user : ask("User on the cluster", profile.user.value_or(default_user));
  if (!user.empty()) {
    profile.user = user;
  }

  std::string auth = f.auth;
  if (auth.empty() && tty) {
    auth = ask("Log in with an SSH key or agent ('key') or a password + code ('password')", "key");
  }
  if (auth == "key" && tty && f.identity.empty() && profile.identity_files.empty()) {
    std::string key = ask("Key file (empty: the ssh-agent and ~/.ssh/id_ed25519, id_ecdsa)", "");
    if (!key.empty()) {
      profile.identity_files = {key};
    }
  }
  bool want_store = f.store_password || f.store_password_from_stdin;
  if (!want_store && auth == "password" && tty) {
    std::string a =
        ask("Store the password so tccp can answer the password prompt? (yes/no)", "no");
    want_store = util::to_lower(a) == "yes" || util::to_lower(a) == "y";
  }

  ssh::Target target = resolve_target(profile);
  ssh::CredentialStore store(home);
  std::optional<ssh::StoredWhere> stored;
  if (f.store_password_from_stdin) {
    auto pw = read_stdin_line();
    if (!pw) {
      throw Error(ExitCode::usage, "no password on stdin",
                  "echo the password into 'tccp setup --store-password-from-stdin' (not as an "
                  "argument)");
    }
    stored = store.store_password(target.account(), *pw);
  }
  bool checked = false;
  if (!f.no_check) {
    DirectOptions o;
    o.host_keys = f.accept_new ? ssh::HostKeyPolicy::accept_new : ssh::HostKeyPolicy::ask;
    o.capture_password = want_store && !f.store_password_from_stdin;
    std::optional<ssh::Secret> captured;
    try {
      auto session = connect_session(profile, o, &captured);
      checked = true;
    } catch (const Error& e) {
      if (stored && e.code() == ExitCode::auth) {
        store.erase_password(target.account());
      }
      throw;
    }
    if (captured && want_store) {
      stored = store.store_password(target.account(), *captured);
    } else if (want_store && !stored) {
      ctx.printer().info("tccp: no password was asked (a key or the agent was enough); nothing "
                         "stored");
    }
  }
  if (stored && stored->backend == ssh::CredentialBackend::file) {
    ctx.printer().warning("no desktop keyring found: the password is stored in " +
                          stored->description + " (mode 0600, readable by you only)");
  }

  std::filesystem::path config_file = home / "config.yaml";
  write_cluster_config(config_file, profile.host, profile.port, profile.user,
                       profile.identity_files, profile.askpass, profile.proxy_jump,
                       profile.known_hosts);

  // The profile as every tool will now read it (this also checks the file).
  config::ClusterProfile saved = config::load_cluster_profile();
  proto::Envelope env;
  env.type = "cluster";
  env.data = config::cluster_to_json(saved);
  proto::Json how;
  how["config_file"] = config_file.string();
  how["checked"] = checked;
  how["password_stored"] =
      stored ? proto::Json(stored->backend == ssh::CredentialBackend::keyring ? "keyring" : "file")
             : proto::Json(nullptr);
  env.data["setup"] = how;
  ctx.emit(env, [&] {
    std::cout << "cluster saved in " << config_file.string() << ": " << target.describe()
              << (checked ? " (connection checked)" : "") << '\n';
  });
  return 0;
}

} // namespace tccp::tools
