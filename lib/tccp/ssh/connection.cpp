#include "tccp/ssh/connection.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>
#include <sys/socket.h>
#include <unistd.h>

#include "tccp/ssh/mux_protocol.hpp"

namespace tccp::ssh {

Connection::Connection(std::unique_ptr<Session> session, MuxOptions options)
    : m_describe(session->target().describe()) {
  m_server = std::make_unique<MuxServer>(std::move(session), std::move(options));
  m_thread = std::thread([this] {
    try {
      m_server->run();
    } catch (const std::exception& e) {
      // The loop only throws on a broken poll(); clients see their sockets
      // close and report the connection as lost.
      std::cerr << "tccp: connection loop for " << m_describe << " ended: " << e.what() << '\n';
    }
  });
}

Connection::~Connection() {
  m_server->stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  m_server.reset();
}

int Connection::dial() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw Error(ExitCode::internal, std::string("socketpair: ") + std::strerror(errno));
  }
  m_server->adopt(sv[1]);
  return sv[0];
}

int Connection::open_forward(const std::string& host, int port) {
  int fd = dial();
  try {
    request_forward(fd, host, port);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

void request_forward(int fd, const std::string& host, int port) {
  mux::Request r;
  r.op = "forward";
  r.host = host;
  r.port = port;
  mux::write_all(fd, mux::encode_request(r), std::chrono::seconds(30));
  // A queued request waits for a channel slot and, on a master that is
  // reconnecting, for the link: allow for the queue timeout.
  std::string reply = mux::read_line(fd, std::chrono::seconds(120));
  if (reply != mux::encode_ok()) {
    throw mux::decode_failure(reply);
  }
}

} // namespace tccp::ssh
