#pragma once
/// The tccp-connect master's life: start (authenticate in the foreground,
/// then serve in the background), status, stop.
#include <optional>
#include <string>

#include "tccp/cli/app.hpp"
#include "tccp/config/cluster_profile.hpp"
#include "tccp/proto/envelope.hpp"
#include "tccp/ssh/session.hpp"

namespace tccp::tools {

struct MasterSettings {
  bool foreground = false; ///< serve in this process (logs on stderr)
  int max_sessions = 10;   ///< session channels at once (sshd MaxSessions)
  ssh::HostKeyPolicy host_keys = ssh::HostKeyPolicy::ask;
  std::optional<long long> idle_timeout_s; ///< overrides the profile's connect_idle_timeout
};

/// The `connection` envelope data for the profile: the master's own status
/// when one runs, else state "stopped".
proto::Json connection_status(const config::ClusterProfile& profile);

/// The envelope data in words, for people.
std::string describe_connection(const proto::Json& data);

/// Starts the master. Returns once it is authenticated and listening (or,
/// with --foreground, when it ends). An already running master is not an
/// error. Throws the connection's Error when authentication fails.
int start_master(const config::ClusterProfile& profile, const MasterSettings& settings,
                 cli::Context& ctx);

/// Stops the master (no error when none runs); waits until it is gone.
int stop_master(const config::ClusterProfile& profile, cli::Context& ctx);

} // namespace tccp::tools
