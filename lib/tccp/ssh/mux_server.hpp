#pragma once
/// The multiplexer: one thread drives one SSH session in a poll loop and
/// serves any number of local clients (mux_protocol.hpp) over it: exec
/// channels with or without a pty, direct-tcpip forwards, long streams
/// both ways without buffering them whole. A slow client only slows its
/// own channel (per-client buffers with high-water marks; libssh2's window
/// holds the rest). Session channels are capped (sshd's MaxSessions):
/// requests beyond the cap wait their turn, and channel opens are
/// serialized (libssh2 1.10 allows one pending open per session).
///
/// When the link dies, running clients get a failure (exit 6) and, if a
/// reconnect function is given, the server reconnects with backoff while
/// new requests queue.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tccp/ssh/session.hpp"

namespace tccp::ssh {

struct MuxOptions {
  int max_sessions = 10;                  ///< session channels at once (sshd MaxSessions)
  std::chrono::seconds idle_timeout{0};   ///< no client for this long ends run(); 0 = never
  std::chrono::seconds queue_timeout{60}; ///< a request waits at most this for a link
  /// Makes a new session after the link died; empty: no reconnect (the
  /// server then fails every request). May throw Error; auth and config
  /// errors end the server.
  std::function<std::unique_ptr<Session>()> reconnect;
  std::function<void(const std::string&)> log; ///< events for the log (never secrets)
};

/// A snapshot for `tccp-connect status`.
struct MuxStatus {
  std::string state; ///< connected | reconnecting | closed
  std::string user;
  std::string host; ///< as named (alias)
  std::string hostname;
  int port = 22;
  std::chrono::system_clock::time_point since{};
  int session_channels = 0;
  int forward_channels = 0;
  int spare_channels = 0; ///< open ahead of the next request (not in session_channels)
  int queued = 0;
  int clients = 0;
  int max_sessions = 0;
  std::optional<double> rtt_ms; ///< the last channel open's round trip
  int reconnects = 0;
  long long requests = 0;
  std::string last_error;
};

class MuxServer {
public:
  MuxServer(std::unique_ptr<Session> session, MuxOptions options);
  ~MuxServer();
  MuxServer(const MuxServer&) = delete;
  MuxServer& operator=(const MuxServer&) = delete;

  /// Accepts clients from this listening socket (call before run()).
  void listen(int listen_fd);

  /// Serves one connected client socket; thread-safe.
  void adopt(int client_fd);

  /// Ends run() soon; thread-safe and async-signal-safe.
  void stop();

  /// Runs the loop until stop(), the idle timeout, or a reconnect that
  /// cannot succeed (auth). Returns why it ended.
  std::string run();

  MuxStatus status() const;

  struct Impl; ///< opaque (mux_server.cpp)

private:
  std::unique_ptr<Impl> m;
};

} // namespace tccp::ssh
