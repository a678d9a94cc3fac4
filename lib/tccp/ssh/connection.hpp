#pragma once
/// A session served by a MuxServer on a background thread, for use inside
/// one process: dial() hands out client sockets (socketpairs), so a direct
/// connection and the tccp-connect master speak the same protocol. Also
/// the building block of ProxyJump: open_forward() gives a byte stream to
/// host:port through the session.
#include <memory>
#include <string>
#include <thread>

#include "tccp/ssh/mux_server.hpp"

namespace tccp::ssh {

class Connection {
public:
  Connection(std::unique_ptr<Session> session, MuxOptions options);
  /// Stops the loop, joins its thread and closes the session.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// A new client socket served by the loop; the caller owns it.
  int dial();

  /// A byte stream to host:port opened from the server side (direct-tcpip);
  /// the caller owns the fd. Throws Error(unreachable) when the server
  /// cannot connect there.
  int open_forward(const std::string& host, int port);

  /// "user@host".
  const std::string& describe() const { return m_describe; }

  MuxStatus status() const { return m_server->status(); }

private:
  std::unique_ptr<MuxServer> m_server;
  std::thread m_thread;
  std::string m_describe;
};

/// Sends a forward request on a connected client socket and waits for the
/// answer; on success the socket is the raw stream. Throws the server's
/// failure as an Error.
void request_forward(int fd, const std::string& host, int port);

} // namespace tccp::ssh
