#pragma once
/// `tccp setup` (tccp-connect setup): asks for the cluster's login host (or
/// ssh alias), the user and how they log in; tries the connection (which
/// records the host key after the user checked it); stores a password
/// when asked to; writes the profile into $TCCP_HOME/config.yaml, keeping
/// every other key. Flags make it scriptable.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tccp/cli/app.hpp"

namespace tccp::tools {

struct SetupFlags {
  std::string host;
  std::optional<int> port;
  std::string user;
  std::vector<std::string> identity;
  std::string askpass;
  std::string proxy_jump;
  std::string known_hosts;
  bool accept_new = false;
  std::string auth;            ///< key | password (asked when empty)
  bool store_password = false; ///< keep the password typed while connecting
  bool store_password_from_stdin = false;
  bool no_check = false; ///< write the profile without connecting
};

/// Declares setup's own flags on its subcommand.
void add_setup_flags(CLI::App& setup, SetupFlags& flags);

int run_setup(const SetupFlags& flags, cli::Context& ctx);

/// Writes the cluster profile fields into the YAML file at `path` (created
/// 0600 when missing), keeping all other keys; atomic.
void write_cluster_config(const std::filesystem::path& path, const std::string& host,
                          const std::optional<int>& port, const std::optional<std::string>& user,
                          const std::vector<std::string>& identity_files,
                          const std::optional<std::string>& askpass,
                          const std::optional<std::string>& proxy_jump,
                          const std::optional<std::string>& known_hosts);

} // namespace tccp::tools
