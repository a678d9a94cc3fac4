#pragma once
/// One authenticated SSH connection (libssh2, non-blocking, a deadline on
/// every wait). connect() does TCP (IPv4 or IPv6) or a ProxyJump chain,
/// the key exchange (ed25519 host key preferred), host key verification
/// against known_hosts, and authentication in the order the server offers:
/// ssh-agent, key files, keyboard-interactive, password. A Session is not
/// thread-safe: one thread drives it (see MuxServer).
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tccp/ssh/prompt.hpp"
#include "tccp/ssh/target.hpp"

struct _LIBSSH2_SESSION; // NOLINT(bugprone-reserved-identifier): libssh2's own name

namespace tccp::ssh {

class CredentialStore;
class Connection;

/// What to do with a host key that no known_hosts file lists.
enum class HostKeyPolicy {
  ask,        ///< show the fingerprint and ask on the terminal; refuse without one
  accept_new, ///< record it in tccp's known_hosts and go on (tccp-connect --accept-new)
  refuse,     ///< refuse it
};

/// How a connection may interact with the user.
struct ConnectContext {
  Prompter* prompter = nullptr; ///< nullptr: never ask
  HostKeyPolicy host_keys = HostKeyPolicy::ask;
  const CredentialStore* credentials = nullptr; ///< answers password prompts when set
  bool capture_password = false;                ///< keep an accepted typed password
  std::optional<Secret> captured_password;      ///< set after success when captured
  std::function<void(const std::string&)> info; ///< notes for people (stderr)
};

class Session {
public:
  /// Connects, verifies the host key and authenticates. Throws
  /// Error(unreachable) for network failures and timeouts, Error(auth) for
  /// host key and authentication failures (with the reason in words and a
  /// hint), Error(config) for bad settings.
  static std::unique_ptr<Session> connect(const Target& target, ConnectContext& ctx);

  /// Like connect(), over an already connected byte stream `fd` (a
  /// forwarded channel); the session owns `fd`.
  static std::unique_ptr<Session> connect_over(int fd, const Target& target, ConnectContext& ctx);

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// The libssh2 handle (for the mux inside this module).
  _LIBSSH2_SESSION* raw() const;
  int fd() const;
  const Target& target() const;

  /// When the connection was authenticated.
  std::chrono::system_clock::time_point connected_at() const;
  /// The TCP connect time (about one round trip); zero over a jump.
  std::chrono::microseconds connect_time() const;
  /// When bytes last arrived from the server.
  std::chrono::steady_clock::time_point last_received() const;

  /// Marks the link dead: the socket is shut down so that teardown never
  /// waits on it.
  void kill_transport();

  struct State; ///< opaque (session.cpp)

private:
  Session();
  std::unique_ptr<State> m;
};

/// Initialises libssh2 once per process (before any thread uses it).
void init_library();

/// A readable text for a libssh2 error code ("-43 transport read").
std::string libssh2_error_text(_LIBSSH2_SESSION* session, int rc);

} // namespace tccp::ssh
