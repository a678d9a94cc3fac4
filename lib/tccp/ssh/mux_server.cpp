#include "tccp/ssh/mux_server.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <libssh2.h>
#include <nlohmann/json.hpp>

#include "tccp/ssh/mux_protocol.hpp"

namespace tccp::ssh {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t out_high_water = 1U << 20; // bytes waiting for a client
constexpr std::size_t in_high_water = 1U << 20;  // stdin bytes waiting for a channel
constexpr unsigned window_default = 2U * 1024 * 1024;
constexpr unsigned window_bulk = 8U * 1024 * 1024;
constexpr unsigned packet_max = 32768;
constexpr std::size_t read_chunk = 65536;
constexpr std::size_t header_max = 4U << 20;
constexpr int max_passes = 64;
constexpr std::string_view pid_marker = "\036tccp-pid:";
constexpr std::size_t pid_search_limit = 65536;
constexpr int max_refusals = 5;

// `parked`: a spare session channel, open and waiting for the next request.
enum class Phase { header, queued, opening, parked, starting, running, closing, done };

// Bytes waiting for a client, taken from the front without moving the rest
// on every partial send (amortized: the rest moves once it is the smaller half).
class OutQueue {
public:
  void operator+=(std::string_view d) { m_buf.append(d); }
  void append(const char* d, std::size_t n) { m_buf.append(d, n); }
  void append_frame(mux::FrameType t, std::string_view payload) {
    mux::append_frame(m_buf, t, payload);
  }
  std::size_t size() const { return m_buf.size() - m_head; }
  bool empty() const { return size() == 0; }
  const char* data() const { return m_buf.data() + m_head; }
  void clear() {
    m_buf.clear();
    m_head = 0;
  }
  void consume(std::size_t n) {
    m_head += n;
    if (m_head >= m_buf.size()) {
      clear();
    } else if (m_head >= (1U << 16) && m_head * 2 >= m_buf.size()) {
      m_buf.erase(0, m_head);
      m_head = 0;
    }
  }

private:
  std::string m_buf;
  std::size_t m_head = 0;
};

// Every libssh2 call that may send. libssh2 1.10 keeps one partly sent
// packet per session and answers any *other* send with BAD_USE until the
// call that started it is repeated; the gate makes sure only that call runs.
enum class Op {
  none,
  open,
  pty,
  start,
  write,
  eof,
  resize,
  read_out,
  read_err,
  close,
  free,
  keepalive
};

struct Client {
  int fd = -1;
  bool internal = false;   // the server's own request (kill of an abandoned command)
  bool spare = false;      // the server's spare channel (internal too)
  bool from_spare = false; // this client's channel was a spare one
  Phase phase = Phase::header;
  mux::Request req;
  bool forward = false;
  std::string in;
  OutQueue out;
  bool finish_after_flush = false;
  bool stop_after_flush = false;
  Clock::time_point queued_at{};
  Clock::time_point open_started{};
  LIBSSH2_CHANNEL* ch = nullptr;
  bool pty_done = false;
  std::string to_remote;
  bool stdin_eof = false;
  bool eof_sent = false;
  std::optional<std::pair<int, int>> resize;
  bool remote_eof = false;
  bool remote_closed = false;
  bool closed = false; // our close completed
  bool aborted = false;
  bool counted_session = false;
  bool want_pid = false;
  std::string pid_buf;
  std::optional<long> pid;
  bool shut_wr = false;
  bool client_wr_closed = false;
  bool forward_open = false; // the ok line went out: the socket is the raw stream
  int refusals = 0;          // session opens the server refused with none of ours open
  Clock::time_point retry_at{};
};

struct Gate {
  Client* client = nullptr;
  Op op = Op::none;
  bool held() const { return op != Op::none; }
};

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool session_fatal(int rc) {
  switch (rc) {
  case LIBSSH2_ERROR_SOCKET_SEND:
  case LIBSSH2_ERROR_SOCKET_DISCONNECT:
  case LIBSSH2_ERROR_SOCKET_RECV:
  case LIBSSH2_ERROR_SOCKET_TIMEOUT:
  case LIBSSH2_ERROR_TIMEOUT:
  case LIBSSH2_ERROR_DECRYPT:
  case LIBSSH2_ERROR_PROTO:
  case LIBSSH2_ERROR_KEX_FAILURE:
  case LIBSSH2_ERROR_BAD_USE:
  case LIBSSH2_ERROR_ALLOC:
  case LIBSSH2_ERROR_INVALID_MAC:
  case LIBSSH2_ERROR_OUT_OF_BOUNDARY: return true;
  default: return false;
  }
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// True when a small packet can be sent without a partial write (libssh2
// 1.10 builds keepalive and EOF packets on the stack, so a partial send of
// those could never be resumed).
bool socket_has_room(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0;
}

} // namespace

struct MuxServer::Impl {
  std::unique_ptr<Session> session;
  MuxOptions opt;
  Target target; // kept for messages and status across reconnects
  int listen_fd = -1;
  int wake_r = -1;
  int wake_w = -1;
  std::atomic<bool> stop_requested{false};
  mutable std::mutex mu;
  std::vector<int> adopted;
  MuxStatus snapshot;

  std::vector<std::unique_ptr<Client>> clients;
  Client* opening = nullptr;
  Gate gate;
  int cap = 10;
  bool wait_for_close = false; // the server refused a session: wait for one to end
  bool spare_blocked = false;  // the server refused a spare: none until a channel ends

  enum class Link { connected, reconnecting, closed } link = Link::connected;
  std::chrono::system_clock::time_point since{};
  std::string last_error;
  int reconnects = 0;
  long long requests = 0;
  std::optional<double> rtt_ms;

  // reconnect worker
  std::thread worker;
  std::atomic<bool> worker_done{false};
  bool worker_running = false;
  std::unique_ptr<Session> worker_session;
  std::optional<Error> worker_error;
  int attempt = 0;
  Clock::time_point reconnect_at{};
  Clock::time_point attempt_started{};

  bool was_active = false;
  Clock::time_point active_since{};
  Clock::time_point last_heard_extra{};
  Clock::time_point next_keepalive{};
  Clock::time_point last_client_seen = Clock::now();
  bool end_now = false;
  std::string end_reason;

  void log(const std::string& line) const {
    if (opt.log) {
      opt.log(line);
    }
  }

  LIBSSH2_SESSION* raw() const { return session ? session->raw() : nullptr; }

  // ---- gate ------------------------------------------------------------------
  bool may_send(const Client* c, Op op) const {
    return !gate.held() || (gate.client == c && gate.op == op);
  }
  bool gated(const Client* c, Op op) const { return gate.client == c && gate.op == op; }
  void after_call(Client* c, Op op, long rc) {
    if (rc == LIBSSH2_ERROR_EAGAIN &&
        (::libssh2_session_block_directions(raw()) & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) {
      gate = Gate{c, op};
    } else if (gated(c, op)) {
      gate = Gate{};
    }
  }

  // ---- frames to clients ---------------------------------------------------------
  void send_frame(Client& c, mux::FrameType type, std::string_view payload) {
    if (c.fd < 0 || c.internal) {
      return;
    }
    while (payload.size() > mux::max_frame_payload) {
      c.out.append_frame(type, payload.substr(0, mux::max_frame_payload));
      payload.remove_prefix(mux::max_frame_payload);
    }
    c.out.append_frame(type, payload);
  }

  void fail_client(Client& c, const Error& e) {
    if (c.fd >= 0 && !c.internal && c.forward_open) {
      // A raw stream already: it just ends (the peer sees EOF or a reset).
      c.out.clear();
    } else if (c.fd >= 0 && !c.internal) {
      if (c.forward || c.phase == Phase::header) {
        c.out += mux::encode_failure(e) + "\n";
      } else {
        send_frame(c, mux::FrameType::failure, mux::encode_failure(e));
      }
    }
    c.finish_after_flush = true;
    c.ch = nullptr;
    c.phase = Phase::done;
  }

  // A client that broke the protocol: told why; its channel (if it has one
  // already) is closed like an abandoned one, so its session slot returns.
  void refuse_client(Client& c, const Error& e) {
    bool has_channel = c.ch != nullptr || c.phase == Phase::opening;
    if (!has_channel) {
      fail_client(c, e);
      return;
    }
    send_frame(c, mux::FrameType::failure, mux::encode_failure(e));
    c.finish_after_flush = true;
    if (c.phase == Phase::opening) {
      c.aborted = true;
    } else {
      abort_channel(c);
    }
  }

  // ---- client sockets ---------------------------------------------------------------
  void client_gone(Client& c) {
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
    c.out.clear();
    switch (c.phase) {
    case Phase::header:
    case Phase::queued:
    case Phase::done: c.phase = Phase::done; break;
    case Phase::opening: c.aborted = true; break;
    case Phase::starting:
    case Phase::running: abort_channel(c); break;
    case Phase::parked: // only spares park, and they have no socket
    case Phase::closing: c.aborted = true; break;
    }
  }

  void abort_channel(Client& c) {
    if (c.aborted) {
      return;
    }
    c.aborted = true;
    if (!c.forward && !c.req.pty && c.pid && *c.pid > 1 && !c.remote_closed) {
      // A command without a pty outlives its channel: end its process group.
      auto k = std::make_unique<Client>();
      k->internal = true;
      k->phase = Phase::queued;
      k->queued_at = Clock::now();
      std::string p = std::to_string(*c.pid);
      k->req.op = "exec";
      k->req.command = "kill -TERM -- -" + p + " 2>/dev/null || kill -TERM " + p +
                       " 2>/dev/null; (sleep 5; kill -KILL -- -" + p +
                       " 2>/dev/null) </dev/null >/dev/null 2>&1 &";
      k->stdin_eof = true;
      clients.push_back(std::move(k));
      log("client left; ending remote process group " + p);
    }
    if (c.phase == Phase::running || c.phase == Phase::starting) {
      c.phase = Phase::closing;
    }
  }

  bool wants_client_input(const Client& c) const {
    if (c.fd < 0 || c.internal || c.finish_after_flush) {
      return false;
    }
    if (c.phase == Phase::header) {
      return true;
    }
    if (c.phase == Phase::done || c.aborted) {
      return false;
    }
    if (c.forward) {
      return !c.client_wr_closed && c.to_remote.size() < in_high_water;
    }
    return c.to_remote.size() < in_high_water;
  }

  void read_client(Client& c) {
    char buf[read_chunk];
    while (c.fd >= 0 && wants_client_input(c)) {
      ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
      if (r > 0) {
        c.in.append(buf, static_cast<std::size_t>(r));
        if (c.phase == Phase::header && c.in.size() > header_max) {
          fail_client(c, Error(ExitCode::protocol, "request header too long"));
          return;
        }
        if (!parse_client_input(c)) {
          return;
        }
        continue;
      }
      if (r == 0) {
        if (c.forward && c.phase != Phase::header) {
          c.client_wr_closed = true;
          c.stdin_eof = true;
        } else {
          client_gone(c);
        }
        return;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        client_gone(c);
      }
      return;
    }
  }

  // Returns false when the client was finished.
  bool parse_client_input(Client& c) {
    if (c.phase == Phase::header) {
      auto nl = c.in.find('\n');
      if (nl == std::string::npos) {
        return true;
      }
      try {
        c.req = mux::decode_request(std::string_view(c.in).substr(0, nl));
      } catch (const Error& e) {
        fail_client(c, e);
        return false;
      }
      c.in.erase(0, nl + 1);
      ++requests;
      if (c.req.op == "status") {
        c.out += status_json() + "\n";
        c.finish_after_flush = true;
        c.phase = Phase::done;
        return false;
      }
      if (c.req.op == "stop") {
        c.out += std::string(mux::encode_ok()) + "\n";
        c.finish_after_flush = true;
        c.stop_after_flush = true;
        c.phase = Phase::done;
        return false;
      }
      if (c.req.op != "exec" && c.req.op != "forward") {
        fail_client(c, Error(ExitCode::protocol, "unknown request '" + c.req.op + "'"));
        return false;
      }
      c.forward = c.req.op == "forward";
      if (link == Link::closed) {
        fail_client(c, Error(ExitCode::unreachable,
                             "the connection to " + target.describe() + " is closed" +
                                 (last_error.empty() ? "" : ": " + last_error)));
        return false;
      }
      c.want_pid = !c.forward && !c.req.pty && !c.req.command.empty();
      if (c.want_pid) {
        // The shell's pid comes first on stdout (and is taken out again), so
        // an abandoned command can be ended (see abort_channel).
        c.req.command = "printf '\\036tccp-pid:%s\\036\\n' \"$$\"; " + c.req.command;
      }
      c.phase = Phase::queued;
      c.queued_at = Clock::now();
      if (link == Link::reconnecting && !worker_running) {
        // Someone is waiting: try now rather than at the next backoff step.
        reconnect_at = c.queued_at;
      }
    }
    if (c.forward) {
      c.to_remote += c.in;
      c.in.clear();
      return true;
    }
    while (true) {
      mux::FrameType type{};
      std::string_view payload;
      std::size_t used = 0;
      try {
        used = mux::parse_frame(c.in, type, payload);
      } catch (const Error& e) {
        refuse_client(c, e);
        return false;
      }
      if (used == 0) {
        return true;
      }
      switch (type) {
      case mux::FrameType::stdin_data:
        if (!c.stdin_eof) {
          c.to_remote.append(payload);
        }
        break;
      case mux::FrameType::stdin_eof: c.stdin_eof = true; break;
      case mux::FrameType::resize: {
        int cols = 0;
        int rows = 0;
        if (std::sscanf(std::string(payload).c_str(), "%d %d", &cols, &rows) == 2 && cols > 0 &&
            rows > 0) {
          c.resize = std::make_pair(cols, rows);
        }
        break;
      }
      default:
        refuse_client(c, Error(ExitCode::protocol, "unexpected frame from client"));
        return false;
      }
      c.in.erase(0, used);
    }
  }

  void flush_client(Client& c) {
    while (c.fd >= 0 && !c.out.empty()) {
      ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (w > 0) {
        c.out.consume(static_cast<std::size_t>(w));
        continue;
      }
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      }
      client_gone(c);
      return;
    }
    if (c.fd >= 0 && c.out.empty()) {
      if (c.forward && c.remote_eof && !c.shut_wr && c.phase != Phase::done) {
        ::shutdown(c.fd, SHUT_WR);
        c.shut_wr = true;
      }
      if (c.finish_after_flush) {
        if (c.stop_after_flush) {
          stop_requested = true;
        }
        ::close(c.fd);
        c.fd = -1;
      }
    }
  }

  // ---- channels --------------------------------------------------------------------
  int session_channels() const {
    int n = 0;
    for (const auto& c : clients) {
      n += c->counted_session ? 1 : 0;
    }
    return n;
  }

  int forward_channels() const {
    int n = 0;
    for (const auto& c : clients) {
      n += (c->forward && (c->ch != nullptr || c.get() == opening)) ? 1 : 0;
    }
    return n;
  }

  Client* next_to_open() {
    Client* best = nullptr;
    bool session_room = session_channels() < cap && !wait_for_close;
    auto now = Clock::now();
    for (auto& c : clients) {
      if (c->phase != Phase::queued || (!c->forward && !session_room) || c->retry_at > now) {
        continue;
      }
      if (best == nullptr || c->queued_at < best->queued_at) {
        best = c.get();
      }
    }
    return best;
  }

  bool step_open() {
    if (opening == nullptr) {
      if (gate.held()) {
        return false;
      }
      opening = next_to_open();
      if (opening == nullptr) {
        return false;
      }
      opening->phase = Phase::opening;
      opening->open_started = Clock::now();
      if (!opening->forward) {
        opening->counted_session = true;
      }
    }
    Client& c = *opening;
    if (!may_send(&c, Op::open)) {
      return false;
    }
    LIBSSH2_CHANNEL* ch = nullptr;
    if (c.forward) {
      ch =
          ::libssh2_channel_direct_tcpip_ex(raw(), c.req.host.c_str(), c.req.port, "127.0.0.1", 22);
    } else {
      unsigned window = c.req.bulk || c.spare ? window_bulk : window_default;
      ch = ::libssh2_channel_open_ex(raw(), "session", 7, window, packet_max, nullptr, 0);
    }
    if (ch == nullptr) {
      int err = ::libssh2_session_last_errno(raw());
      after_call(&c, Op::open, err);
      if (err == LIBSSH2_ERROR_EAGAIN) {
        return false;
      }
      opening = nullptr;
      c.counted_session = false;
      if (session_fatal(err)) {
        link_lost(libssh2_error_text(raw(), err));
        return true;
      }
      if (c.spare) {
        // No room for a spare on this server now: requests open their own.
        spare_blocked = true;
        c.phase = Phase::done;
        return true;
      }
      std::string text = libssh2_error_text(raw(), err);
      if (!c.forward && err == LIBSSH2_ERROR_CHANNEL_FAILURE && session_channels() > 0) {
        // The server allows fewer sessions than the cap (its MaxSessions, or
        // one it has not yet cleaned up): wait until one of ours ends.
        wait_for_close = true;
        c.phase = Phase::queued;
        return true;
      }
      if (!c.forward && err == LIBSSH2_ERROR_CHANNEL_FAILURE && ++c.refusals <= max_refusals) {
        // None of ours is open, yet the server is still counting the ones
        // that just ended: try again shortly.
        c.phase = Phase::queued;
        c.retry_at = Clock::now() + std::chrono::milliseconds(100 * c.refusals);
        return true;
      }
      if (c.forward) {
        fail_client(c, Error(ExitCode::unreachable,
                             "cannot connect to " + c.req.host + ":" + std::to_string(c.req.port) +
                                 " from " + target.describe() + ": " + text,
                             "is anything listening there? (the SSH server also refuses when "
                             "it forbids forwarding)"));
      } else {
        fail_client(c,
                    Error(ExitCode::refused, "the server refused a new session channel: " + text));
      }
      return true;
    }
    after_call(&c, Op::open, 0);
    opening = nullptr;
    c.ch = ch;
    rtt_ms = std::chrono::duration<double, std::milli>(Clock::now() - c.open_started).count();
    if (c.aborted) {
      c.phase = Phase::closing;
      return true;
    }
    if (c.spare) {
      c.phase = Phase::parked;
      return true;
    }
    if (c.forward) {
      c.phase = Phase::running;
      c.forward_open = true;
      c.out += std::string(mux::encode_ok()) + "\n";
    } else {
      c.phase = Phase::starting;
    }
    return true;
  }

  bool step_starting(Client& c) {
    if (c.req.pty && !c.pty_done) {
      if (!may_send(&c, Op::pty)) {
        return false;
      }
      int rc = ::libssh2_channel_request_pty_ex(c.ch, c.req.term.c_str(),
                                                static_cast<unsigned>(c.req.term.size()), nullptr,
                                                0, c.req.cols, c.req.rows, 0, 0);
      after_call(&c, Op::pty, rc);
      if (rc == LIBSSH2_ERROR_EAGAIN) {
        return false;
      }
      if (rc != 0) {
        return channel_error(c, rc, "the server refused a pseudo-terminal");
      }
      c.pty_done = true;
    }
    if (c.aborted && !gated(&c, Op::start)) {
      c.phase = Phase::closing;
      return true;
    }
    if (!may_send(&c, Op::start)) {
      return false;
    }
    int rc = 0;
    if (c.req.command.empty()) {
      rc = ::libssh2_channel_process_startup(c.ch, "shell", 5, nullptr, 0);
    } else {
      rc = ::libssh2_channel_process_startup(c.ch, "exec", 4, c.req.command.data(),
                                             static_cast<unsigned>(c.req.command.size()));
    }
    after_call(&c, Op::start, rc);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      return false;
    }
    if (rc != 0) {
      return channel_error(c, rc, "the server refused to run the command");
    }
    c.phase = c.aborted ? Phase::closing : Phase::running;
    return true;
  }

  bool channel_error(Client& c, int rc, const std::string& what) {
    if (session_fatal(rc)) {
      link_lost(libssh2_error_text(raw(), rc));
      return true;
    }
    if (c.from_spare && !c.aborted) {
      // The spare went stale while it waited (a server's ChannelTimeout):
      // it is closed on its own and the request opens a fresh channel.
      log("a spare channel was refused (" + libssh2_error_text(raw(), rc) + "); opening a new one");
      auto dead = std::make_unique<Client>();
      dead->internal = true;
      dead->aborted = true;
      dead->ch = c.ch;
      dead->counted_session = c.counted_session;
      dead->phase = Phase::closing;
      clients.push_back(std::move(dead));
      c.ch = nullptr;
      c.counted_session = false;
      c.from_spare = false;
      c.pty_done = false;
      c.phase = Phase::queued;
      return true;
    }
    std::string text = what + ": " + libssh2_error_text(raw(), rc);
    log(text);
    if (!c.aborted) {
      send_frame(c, mux::FrameType::failure, mux::encode_failure(Error(ExitCode::refused, text)));
      c.finish_after_flush = true;
    }
    c.aborted = true;
    c.phase = Phase::closing;
    return true;
  }

  void deliver(Client& c, bool is_stderr, const char* data, std::size_t n) {
    if (c.aborted || c.fd < 0 || c.internal) {
      return;
    }
    if (c.forward) {
      c.out.append(data, n);
      return;
    }
    if (!is_stderr && c.want_pid) {
      c.pid_buf.append(data, n);
      auto pos = c.pid_buf.find(pid_marker);
      if (pos != std::string::npos) {
        auto end = c.pid_buf.find('\036', pos + pid_marker.size());
        if (end != std::string::npos && end + 1 < c.pid_buf.size()) {
          std::string digits =
              c.pid_buf.substr(pos + pid_marker.size(), end - pos - pid_marker.size());
          try {
            c.pid = std::stol(digits);
          } catch (const std::exception&) {
            c.pid.reset();
          }
          std::size_t skip = end + 1 + (c.pid_buf[end + 1] == '\n' ? 1 : 0);
          std::string before = c.pid_buf.substr(0, pos);
          std::string after = c.pid_buf.substr(skip);
          c.want_pid = false;
          c.pid_buf.clear();
          if (!before.empty()) {
            send_frame(c, mux::FrameType::stdout_data, before);
          }
          if (!after.empty()) {
            send_frame(c, mux::FrameType::stdout_data, after);
          }
          return;
        }
        if (end == std::string::npos && c.pid_buf.size() - pos < 64) {
          return; // the marker line is still arriving
        }
      }
      if (c.pid_buf.size() > pid_search_limit) {
        flush_pid_buf(c);
      }
      return;
    }
    send_frame(c, is_stderr ? mux::FrameType::stderr_data : mux::FrameType::stdout_data,
               std::string_view(data, n));
  }

  void flush_pid_buf(Client& c) {
    c.want_pid = false;
    if (!c.pid_buf.empty() && !c.aborted && c.fd >= 0) {
      send_frame(c, mux::FrameType::stdout_data, c.pid_buf);
    }
    c.pid_buf.clear();
  }

  bool step_running(Client& c) {
    bool progress = false;
    // stdin (or forwarded bytes) into the channel
    while ((!c.to_remote.empty() && !c.aborted && !c.remote_closed) || gated(&c, Op::write)) {
      if (!may_send(&c, Op::write)) {
        break;
      }
      std::size_t len = std::min<std::size_t>(c.to_remote.size(), packet_max);
      static const char dummy = 0;
      ssize_t n =
          ::libssh2_channel_write(c.ch, len > 0 ? c.to_remote.data() : &dummy, len > 0 ? len : 1);
      after_call(&c, Op::write, static_cast<long>(n));
      if (n > 0) {
        c.to_remote.erase(0, std::min(c.to_remote.size(), static_cast<std::size_t>(n)));
        progress = true;
        continue;
      }
      if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
        break;
      }
      if (session_fatal(static_cast<int>(n))) {
        link_lost(libssh2_error_text(raw(), static_cast<int>(n)));
        return true;
      }
      // The remote side closed its input: it wants no more.
      c.to_remote.clear();
      c.eof_sent = true;
      break;
    }
    if (((c.to_remote.empty() && c.stdin_eof && !c.eof_sent && !c.remote_closed) ||
         gated(&c, Op::eof)) &&
        may_send(&c, Op::eof) && (gated(&c, Op::eof) || socket_has_room(session->fd()))) {
      int rc = ::libssh2_channel_send_eof(c.ch);
      after_call(&c, Op::eof, rc);
      if (rc == 0) {
        c.eof_sent = true;
        progress = true;
      } else if (rc != LIBSSH2_ERROR_EAGAIN) {
        if (session_fatal(rc)) {
          link_lost(libssh2_error_text(raw(), rc));
          return true;
        }
        c.eof_sent = true;
      }
    }
    if ((c.resize && c.req.pty && !c.remote_closed) || gated(&c, Op::resize)) {
      if (may_send(&c, Op::resize) && c.resize) {
        int rc =
            ::libssh2_channel_request_pty_size_ex(c.ch, c.resize->first, c.resize->second, 0, 0);
        after_call(&c, Op::resize, rc);
        if (rc != LIBSSH2_ERROR_EAGAIN) {
          c.resize.reset();
          progress = true;
          if (session_fatal(rc)) {
            link_lost(libssh2_error_text(raw(), rc));
            return true;
          }
        }
      }
    }
    // output of the channel
    char buf[read_chunk];
    for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
      Op op = stream == 0 ? Op::read_out : Op::read_err;
      if (c.forward && stream != 0) {
        continue;
      }
      while ((c.out.size() < out_high_water || c.aborted || c.fd < 0) && may_send(&c, op)) {
        ssize_t n = ::libssh2_channel_read_ex(c.ch, stream, buf, sizeof buf);
        after_call(&c, op, static_cast<long>(n));
        if (n > 0) {
          deliver(c, stream != 0, buf, static_cast<std::size_t>(n));
          progress = true;
          continue;
        }
        if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
          break;
        }
        if (session_fatal(static_cast<int>(n))) {
          link_lost(libssh2_error_text(raw(), static_cast<int>(n)));
          return true;
        }
        break;
      }
    }
    if (!c.remote_eof && ::libssh2_channel_eof(c.ch) != 0) {
      c.remote_eof = true;
      progress = true;
      if (c.want_pid) {
        flush_pid_buf(c);
      }
    }
    if (c.remote_eof && !c.remote_closed && !gate.held()) {
      int rc = ::libssh2_channel_wait_closed(c.ch);
      if (rc == 0) {
        c.remote_closed = true;
        c.phase = Phase::closing;
        progress = true;
      } else if (rc != LIBSSH2_ERROR_EAGAIN && session_fatal(rc)) {
        link_lost(libssh2_error_text(raw(), rc));
        return true;
      }
    }
    return progress;
  }

  bool step_closing(Client& c) {
    if (!c.closed) {
      if (!may_send(&c, Op::close)) {
        return false;
      }
      if (c.want_pid) {
        flush_pid_buf(c);
      }
      int rc = ::libssh2_channel_close(c.ch);
      after_call(&c, Op::close, rc);
      if (rc == LIBSSH2_ERROR_EAGAIN) {
        // Waiting for the server's close while output may still arrive.
        // (the reads keep the window open, so the command is not blocked
        // writing and can finish)
        char buf[read_chunk];
        for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
          Op op = stream == 0 ? Op::read_out : Op::read_err;
          while (may_send(&c, op)) {
            ssize_t n = ::libssh2_channel_read_ex(c.ch, stream, buf, sizeof buf);
            after_call(&c, op, static_cast<long>(n));
            if (n <= 0) {
              break;
            }
          }
        }
        return false;
      }
      if (rc != 0 && session_fatal(rc)) {
        link_lost(libssh2_error_text(raw(), rc));
        return true;
      }
      c.closed = true;
    }
    // The exit status and signal are read after the close, when every
    // channel request of the server has been seen.
    mux::Exit e;
    e.exit_code = ::libssh2_channel_get_exit_status(c.ch);
    char* sig = nullptr;
    std::size_t sig_len = 0;
    ::libssh2_channel_get_exit_signal(c.ch, &sig, &sig_len, nullptr, nullptr, nullptr, nullptr);
    if (sig != nullptr) {
      if (sig_len > 0) {
        e.signal = std::string(sig, sig_len);
        int num = mux::signal_number(*e.signal);
        e.exit_code = 128 + (num > 0 ? num : 127);
      }
      ::libssh2_free(raw(), sig);
    }
    if (!may_send(&c, Op::free)) {
      return false;
    }
    int rc = ::libssh2_channel_free(c.ch);
    after_call(&c, Op::free, rc);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      return false;
    }
    c.ch = nullptr;
    if (c.counted_session) {
      wait_for_close = false;
      spare_blocked = false;
    }
    c.counted_session = false;
    if (!c.aborted && !c.forward) {
      send_frame(c, mux::FrameType::exit, mux::encode_exit(e));
    }
    c.finish_after_flush = true;
    c.phase = Phase::done;
    if (c.fd >= 0 && c.forward && !c.shut_wr && c.out.empty()) {
      ::shutdown(c.fd, SHUT_WR);
      c.shut_wr = true;
    }
    return true;
  }

  // A parked spare is read like any channel: that is what takes in the
  // server's packets (keepalive answers, a close) while nothing else runs,
  // and a socket left readable would wake the loop for ever. Nothing may
  // arrive on it: a close, EOF or data make it useless, and it is freed.
  bool step_parked(Client& c) {
    if (!may_send(&c, Op::read_out)) {
      return false;
    }
    char buf[256];
    ssize_t n = ::libssh2_channel_read_ex(c.ch, 0, buf, sizeof buf);
    after_call(&c, Op::read_out, static_cast<long>(n));
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN && session_fatal(static_cast<int>(n))) {
      link_lost(libssh2_error_text(raw(), static_cast<int>(n)));
      return true;
    }
    if (n == LIBSSH2_ERROR_EAGAIN && ::libssh2_channel_eof(c.ch) == 0) {
      return false;
    }
    log("the server closed the spare channel");
    c.aborted = true;
    c.phase = Phase::closing;
    return true;
  }

  // ---- the spare channel -------------------------------------------------------
  // A request's first round trip is its channel open. The master keeps one
  // session channel open ahead of need, so a request costs one round trip
  // (its exec) instead of two. Spares never take the last session slot and
  // never delay a queued request.
  Client* find_spare() const {
    for (const auto& c : clients) {
      if (c->spare && c->phase != Phase::done) {
        return c.get();
      }
    }
    return nullptr;
  }

  Client* oldest_queued_session() const {
    Client* best = nullptr;
    auto now = Clock::now();
    for (const auto& c : clients) {
      if (c->phase == Phase::queued && !c->forward && !c->spare && c->retry_at <= now &&
          (best == nullptr || c->queued_at < best->queued_at)) {
        best = c.get();
      }
    }
    return best;
  }

  bool hand_spare() {
    Client* s = find_spare();
    if (s == nullptr || s->phase != Phase::parked) {
      return false;
    }
    Client* c = oldest_queued_session();
    if (c == nullptr) {
      return false;
    }
    c->ch = s->ch;
    c->counted_session = true;
    c->from_spare = true;
    c->phase = Phase::starting;
    s->ch = nullptr;
    s->counted_session = false;
    s->phase = Phase::done;
    return true;
  }

  // Queues a spare when none exists and there is room; true when it did.
  bool maybe_make_spare() {
    if (spare_blocked || wait_for_close || opening != nullptr || gate.held() ||
        find_spare() != nullptr || session_channels() + 1 >= cap) {
      return false;
    }
    for (const auto& c : clients) {
      if (c->phase == Phase::queued) {
        return false; // requests first
      }
    }
    auto s = std::make_unique<Client>();
    s->internal = true;
    s->spare = true;
    s->phase = Phase::queued;
    s->queued_at = Clock::now();
    clients.push_back(std::move(s));
    return true;
  }

  bool step_client(Client& c) {
    switch (c.phase) {
    case Phase::starting: return step_starting(c);
    case Phase::running: return step_running(c);
    case Phase::closing: return c.ch != nullptr ? step_closing(c) : false;
    case Phase::parked: return step_parked(c);
    default: return false;
    }
  }

  // Repeats the call that left a packet half sent, whatever its client's
  // phase is now (an abort must not strand the session's send state).
  bool retry_gated(const Gate& g) {
    switch (g.op) {
    case Op::keepalive: keepalive(true); return false;
    case Op::open: return step_open();
    case Op::pty:
    case Op::start: return step_starting(*g.client);
    case Op::write:
    case Op::eof:
    case Op::resize:
    case Op::read_out:
      return g.client->phase == Phase::parked ? step_parked(*g.client) : step_running(*g.client);
    case Op::read_err: return step_running(*g.client);
    case Op::close:
    case Op::free: return step_closing(*g.client);
    case Op::none: break;
    }
    return false;
  }

  // Work that libssh2 already holds in memory (read off the socket by a
  // call for another channel): polling now would stall on it.
  bool pending_in_memory(Client& c) const {
    if (c.ch == nullptr || c.phase != Phase::running) {
      return false;
    }
    unsigned long avail = 0;
    unsigned long initial = 0;
    unsigned long window = ::libssh2_channel_window_read_ex(c.ch, &avail, &initial);
    bool may_read = c.out.size() < out_high_water || c.aborted || c.fd < 0;
    if (avail > 0 && may_read) {
      return true;
    }
    // libssh2 re-opens the window only at the start of a read: when data
    // that arrived during the last read narrowed it, the server now waits
    // for us, so read once more.
    if (may_read && !c.remote_eof && window < initial / 4 * 3 + read_chunk) {
      return true;
    }
    if (!c.remote_eof && ::libssh2_channel_eof(c.ch) != 0) {
      return true;
    }
    return !c.to_remote.empty() && !c.aborted &&
           ::libssh2_channel_window_write_ex(c.ch, nullptr) > 0;
  }

  // One round of work on the session; true when more is ready at once.
  bool pump() {
    for (int pass = 0; pass < max_passes && link == Link::connected; ++pass) {
      if (gate.held()) {
        Gate g = gate;
        retry_gated(g);
        if (gate.held()) {
          return false; // wait for the socket to take the rest of that packet
        }
        continue;
      }
      bool progress = hand_spare();
      progress = step_open() || progress;
      for (std::size_t i = 0; i < clients.size() && link == Link::connected; ++i) {
        progress = step_client(*clients[i]) || progress;
        if (gate.held()) {
          break;
        }
      }
      if (link == Link::connected) {
        // after the requests' own packets: the next pass opens it
        progress = maybe_make_spare() || progress;
      }
      if (link != Link::connected) {
        return true;
      }
      if (!progress && !gate.held()) {
        for (auto& c : clients) {
          progress = progress || pending_in_memory(*c);
        }
      }
      if (!progress) {
        return false;
      }
    }
    return link == Link::connected;
  }

  void keepalive(bool retry) {
    if (link != Link::connected || (!retry && gate.held())) {
      return;
    }
    if (!retry && Clock::now() < next_keepalive) {
      return;
    }
    if (!retry && !socket_has_room(session->fd())) {
      return;
    }
    int next = 0;
    int rc = ::libssh2_keepalive_send(raw(), &next);
    after_call(nullptr, Op::keepalive, rc);
    if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN) {
      link_lost(libssh2_error_text(raw(), rc));
      return;
    }
    next_keepalive = Clock::now() + std::chrono::seconds(std::max(1, next));
  }

  // Work in flight (a spare waiting for a request is none).
  bool active() const {
    if (opening != nullptr && !opening->spare) {
      return true;
    }
    for (const auto& c : clients) {
      if (c->ch != nullptr && c->phase != Phase::parked) {
        return true;
      }
    }
    return false;
  }

  // A link is dead when nothing at all came back for the whole keepalive
  // budget while we were waiting for the server.
  void check_liveness() {
    if (link != Link::connected) {
      return;
    }
    auto now = Clock::now();
    bool is_active = active();
    if (is_active && !was_active) {
      active_since = now;
    }
    was_active = is_active;
    if (!is_active) {
      return;
    }
    int queued = 0;
    if (::ioctl(session->fd(), FIONREAD, &queued) == 0 && queued > 0) {
      last_heard_extra = now;
    }
    auto heard = std::max({session->last_received(), active_since, last_heard_extra});
    auto budget = target.alive_interval * target.alive_count_max + std::chrono::seconds(1);
    if (now - heard > budget) {
      link_lost(
          "no answer from the server for " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - heard).count()) +
          " s");
    }
  }

  void link_lost(const std::string& reason) {
    if (link != Link::connected) {
      return;
    }
    last_error = reason;
    log("connection to " + target.describe() + " lost: " + reason);
    Error err(ExitCode::unreachable, "lost the connection to " + target.describe() + ": " + reason,
              opt.reconnect ? "tccp-connect reconnects by itself; run the command again"
                            : "check your network and run the command again");
    for (auto& c : clients) {
      bool had_channel = c->ch != nullptr || c.get() == opening || c->phase == Phase::starting ||
                         c->phase == Phase::running || c->phase == Phase::closing ||
                         c->phase == Phase::opening;
      if (!had_channel) {
        continue;
      }
      c->ch = nullptr; // freed with the session
      c->counted_session = false;
      if (c->aborted || c->internal) {
        c->phase = Phase::done;
        c->finish_after_flush = true;
        continue;
      }
      fail_client(*c, err);
    }
    opening = nullptr;
    gate = Gate{};
    wait_for_close = false;
    spare_blocked = false;
    was_active = false;
    session->kill_transport();
    session.reset();
    if (opt.reconnect) {
      link = Link::reconnecting;
      attempt = 0;
      reconnect_at = Clock::now();
    } else {
      link = Link::closed;
      for (auto& c : clients) {
        if (c->phase == Phase::queued) {
          fail_client(*c, err);
        }
      }
    }
  }

  void maybe_start_reconnect() {
    if (link != Link::reconnecting || worker_running || Clock::now() < reconnect_at) {
      return;
    }
    ++attempt;
    attempt_started = Clock::now();
    log("reconnecting to " + target.describe() + " (attempt " + std::to_string(attempt) + ")");
    worker_done = false;
    worker_running = true;
    worker = std::thread([this] {
      try {
        worker_session = opt.reconnect();
      } catch (const Error& e) {
        worker_error = e;
      } catch (const std::exception& e) {
        worker_error = Error(ExitCode::internal, e.what());
      }
      worker_done = true;
      static constexpr char wake = 'r';
      (void)!::write(wake_w, &wake, 1);
    });
  }

  void check_worker() {
    if (!worker_running || !worker_done) {
      return;
    }
    worker.join();
    worker_running = false;
    if (worker_session) {
      session = std::move(worker_session);
      link = Link::connected;
      since = std::chrono::system_clock::now();
      ++reconnects;
      cap = opt.max_sessions;
      next_keepalive = Clock::now() + target.alive_interval;
      attempt = 0;
      log("reconnected to " + target.describe());
      return;
    }
    Error e = worker_error.value_or(Error(ExitCode::unreachable, "reconnect failed"));
    worker_error.reset();
    last_error = e.what();
    log(std::string("reconnect failed: ") + e.what());
    if (e.code() == ExitCode::auth || e.code() == ExitCode::config) {
      // Nobody can answer the server now: give up and let the next tool
      // connect directly (and ask on its terminal).
      link = Link::closed;
      for (auto& c : clients) {
        if (c->phase == Phase::queued) {
          fail_client(*c,
                      Error(e.code(), std::string("tccp-connect cannot log in again: ") + e.what(),
                            "run 'tccp-connect start' on a terminal"));
        }
      }
      end_now = true;
      end_reason = std::string("re-authentication failed: ") + e.what();
      return;
    }
    // Requests that waited for this attempt learn why it failed; later ones
    // wait for the next.
    for (auto& c : clients) {
      if (c->phase == Phase::queued && !c->internal && c->queued_at <= attempt_started) {
        fail_client(*c, Error(ExitCode::unreachable, e.what(),
                              "tccp-connect keeps trying; check your network and run the "
                              "command again"));
      }
    }
    static constexpr int backoff_s[] = {1, 2, 4, 8, 15, 30};
    int idx = std::min<int>(attempt - 1, static_cast<int>(std::size(backoff_s)) - 1);
    reconnect_at = Clock::now() + std::chrono::seconds(backoff_s[idx]);
  }

  void expire_queue() {
    if (link == Link::connected) {
      return;
    }
    auto now = Clock::now();
    for (auto& c : clients) {
      if (c->phase == Phase::queued && now - c->queued_at > opt.queue_timeout) {
        fail_client(*c, Error(ExitCode::unreachable,
                              last_error.empty() ? "cannot reach " + target.describe() : last_error,
                              "tccp-connect keeps trying; check your network"));
      }
    }
  }

  void reap() {
    std::erase_if(clients, [this](const std::unique_ptr<Client>& c) {
      bool finished = c->phase == Phase::done && c->ch == nullptr && c.get() != opening &&
                      gate.client != c.get();
      if (finished && c->fd >= 0 && c->out.empty() && c->finish_after_flush) {
        ::close(c->fd);
        c->fd = -1;
      }
      return finished && c->fd < 0;
    });
  }

  void accept_clients() {
    while (true) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        return;
      }
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid()) {
        ::close(fd);
        continue;
      }
      add_client(fd);
    }
  }

  void add_client(int fd) {
    set_nonblocking(fd);
    auto c = std::make_unique<Client>();
    c->fd = fd;
    clients.push_back(std::move(c));
  }

  void take_adopted() {
    std::vector<int> fds;
    {
      std::lock_guard<std::mutex> lock(mu);
      fds.swap(adopted);
    }
    for (int fd : fds) {
      add_client(fd);
    }
  }

  int external_clients() const {
    int n = 0;
    for (const auto& c : clients) {
      n += c->internal ? 0 : 1;
    }
    return n;
  }

  MuxStatus make_status() const {
    MuxStatus s;
    s.state = link == Link::connected      ? "connected"
              : link == Link::reconnecting ? "reconnecting"
                                           : "closed";
    s.user = target.user;
    s.host = target.alias;
    s.hostname = target.hostname;
    s.port = target.port;
    s.since = since;
    // A spare (open, or being opened) holds a session slot but is no session.
    int spare_slots = 0;
    for (const auto& c : clients) {
      spare_slots += (c->spare && c->counted_session) ? 1 : 0;
      s.spare_channels += (c->spare && c->phase == Phase::parked) ? 1 : 0;
    }
    s.session_channels = session_channels() - spare_slots;
    s.forward_channels = forward_channels();
    for (const auto& c : clients) {
      s.queued += c->phase == Phase::queued ? 1 : 0;
    }
    s.clients = external_clients();
    s.max_sessions = cap;
    s.rtt_ms = rtt_ms;
    s.reconnects = reconnects;
    s.requests = requests;
    s.last_error = last_error;
    return s;
  }

  std::string status_json() const {
    MuxStatus s = make_status();
    nlohmann::json j;
    j["state"] = s.state;
    j["host"] = s.host;
    j["hostname"] = s.hostname;
    j["port"] = s.port;
    j["user"] = s.user;
    j["since"] = rfc3339(s.since);
    j["pid"] = ::getpid();
    j["session_channels"] = s.session_channels;
    j["forward_channels"] = s.forward_channels;
    j["spare_channels"] = s.spare_channels;
    j["queued"] = s.queued;
    j["clients"] = std::max(0, s.clients - 1); // not counting the status request itself
    j["max_sessions"] = s.max_sessions;
    j["rtt_ms"] = s.rtt_ms ? nlohmann::json(*s.rtt_ms) : nlohmann::json(nullptr);
    j["reconnects"] = s.reconnects;
    j["requests"] = s.requests;
    j["last_error"] = s.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_error);
    return j.dump();
  }

  void shutdown_all(const std::string& why) {
    Error err(ExitCode::unreachable, why, "start it again with 'tccp-connect start'");
    for (auto& c : clients) {
      if (c->phase != Phase::done && c->phase != Phase::header && !c->aborted) {
        fail_client(*c, err);
      }
    }
    // Give clients a moment to read their last frames.
    auto deadline = Clock::now() + std::chrono::milliseconds(500);
    while (Clock::now() < deadline) {
      std::vector<pollfd> fds;
      for (auto& c : clients) {
        if (c->fd >= 0 && !c->out.empty()) {
          fds.push_back({c->fd, POLLOUT, 0});
        }
      }
      if (fds.empty()) {
        break;
      }
      ::poll(fds.data(), fds.size(), 50);
      for (auto& c : clients) {
        flush_client(*c);
      }
    }
    for (auto& c : clients) {
      if (c->fd >= 0) {
        ::close(c->fd);
        c->fd = -1;
      }
    }
  }
};

MuxServer::MuxServer(std::unique_ptr<Session> session, MuxOptions options)
    : m(std::make_unique<Impl>()) {
  m->session = std::move(session);
  m->opt = std::move(options);
  m->target = m->session->target();
  m->cap = std::max(1, m->opt.max_sessions);
  m->since = m->session->connected_at();
  m->next_keepalive = Clock::now() + m->target.alive_interval;
  int p[2];
  if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
  }
  m->wake_r = p[0];
  m->wake_w = p[1];
  m->snapshot = m->make_status();
}

MuxServer::~MuxServer() {
  if (m->worker_running) {
    m->worker.join();
  }
  for (auto& c : m->clients) {
    if (c->fd >= 0) {
      ::close(c->fd);
    }
  }
  m->clients.clear();
  m->session.reset();
  if (m->listen_fd >= 0) {
    ::close(m->listen_fd);
  }
  {
    std::lock_guard<std::mutex> lock(m->mu);
    for (int fd : m->adopted) {
      ::close(fd);
    }
  }
  ::close(m->wake_r);
  ::close(m->wake_w);
}

void MuxServer::listen(int listen_fd) {
  m->listen_fd = listen_fd;
  set_nonblocking(listen_fd);
}

void MuxServer::adopt(int client_fd) {
  {
    std::lock_guard<std::mutex> lock(m->mu);
    m->adopted.push_back(client_fd);
  }
  static constexpr char wake = 'a';
  (void)!::write(m->wake_w, &wake, 1);
}

void MuxServer::stop() {
  m->stop_requested = true;
  static constexpr char wake = 's';
  (void)!::write(m->wake_w, &wake, 1);
}

MuxStatus MuxServer::status() const {
  std::lock_guard<std::mutex> lock(m->mu);
  return m->snapshot;
}

std::string MuxServer::run() {
  Impl& s = *m;
  while (true) {
    if (s.stop_requested) {
      s.shutdown_all("the tccp-connect master stopped");
      return "stopped";
    }
    s.take_adopted();
    s.check_worker();
    s.maybe_start_reconnect();
    bool more = false;
    if (s.link == Impl::Link::connected) {
      more = s.pump();
      s.keepalive(false);
      s.check_liveness();
    }
    s.expire_queue();
    for (auto& c : s.clients) {
      s.flush_client(*c);
    }
    if (!more && s.link == Impl::Link::connected && !s.gate.held()) {
      // A client that just took its output lets its channel read again.
      for (auto& c : s.clients) {
        more = more || s.pending_in_memory(*c);
      }
    }
    s.reap();
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.snapshot = s.make_status();
    }
    if (s.end_now) {
      s.shutdown_all(s.end_reason);
      return s.end_reason;
    }
    auto now = Clock::now();
    bool in_use = s.active();
    for (const auto& c : s.clients) {
      // Status questions do not keep an idle master alive.
      in_use = in_use || (!c->internal && (c->req.op == "exec" || c->req.op == "forward"));
    }
    if (in_use) {
      s.last_client_seen = now;
    } else if (s.opt.idle_timeout.count() > 0 && now - s.last_client_seen > s.opt.idle_timeout) {
      return "idle for " + std::to_string(s.opt.idle_timeout.count()) + " s";
    }
    if (s.stop_requested) {
      continue;
    }

    // ---- wait ----
    std::vector<pollfd> fds;
    fds.push_back({s.wake_r, POLLIN, 0});
    if (s.listen_fd >= 0) {
      fds.push_back({s.listen_fd, POLLIN, 0});
    }
    std::size_t session_index = fds.size();
    if (s.link == Impl::Link::connected) {
      short ev = 0;
      int dir = ::libssh2_session_block_directions(s.raw());
      if ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) {
        ev |= POLLOUT;
      }
      bool wants_input = s.opening != nullptr;
      for (const auto& c : s.clients) {
        if (c->ch == nullptr) {
          continue;
        }
        if (c->phase != Phase::running || !c->to_remote.empty() || c->out.size() < out_high_water ||
            c->aborted || c->fd < 0) {
          wants_input = true;
        }
      }
      ev |= wants_input ? POLLIN : POLLRDHUP;
      fds.push_back({s.session->fd(), ev, 0});
    }
    std::size_t first_client = fds.size();
    std::vector<Client*> polled;
    for (auto& c : s.clients) {
      if (c->fd < 0) {
        continue;
      }
      short ev = 0;
      if (s.wants_client_input(*c)) {
        ev |= POLLIN;
      }
      if (!c->out.empty()) {
        ev |= POLLOUT;
      }
      fds.push_back({c->fd, ev, 0});
      polled.push_back(c.get());
    }
    int timeout_ms = more ? 0 : 1000;
    for (const auto& c : s.clients) {
      if (c->phase == Phase::queued && c->retry_at > now) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c->retry_at - now);
        timeout_ms = std::clamp<int>(static_cast<int>(left.count()) + 1, 0, timeout_ms);
      }
    }
    if (s.link == Impl::Link::reconnecting && !s.worker_running) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(s.reconnect_at - now);
      timeout_ms = std::clamp<int>(static_cast<int>(left.count()), 0, timeout_ms);
    }
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(ExitCode::internal, std::string("poll: ") + std::strerror(errno));
    }
    if ((fds[0].revents & POLLIN) != 0) {
      char buf[64];
      while (::read(s.wake_r, buf, sizeof buf) > 0) {
      }
    }
    if (s.listen_fd >= 0 && (fds[1].revents & POLLIN) != 0) {
      s.accept_clients();
    }
    if (s.link == Impl::Link::connected && session_index < first_client) {
      short rev = fds[session_index].revents;
      bool idle_probe = (fds[session_index].events & POLLIN) == 0;
      if (idle_probe && (rev & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.session->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
        s.link_lost(err != 0 ? std::strerror(err) : "the server closed the connection");
      }
    }
    for (std::size_t i = 0; i < polled.size(); ++i) {
      Client& c = *polled[i];
      short rev = fds[first_client + i].revents;
      if (c.fd < 0 || rev == 0) {
        continue;
      }
      if ((rev & POLLIN) != 0) {
        s.read_client(c);
      }
      if (c.fd >= 0 && (rev & POLLOUT) != 0) {
        s.flush_client(c);
      }
      if (c.fd >= 0 && (rev & (POLLHUP | POLLERR)) != 0 && (rev & POLLIN) == 0) {
        s.client_gone(c);
      }
    }
  }
}

} // namespace tccp::ssh
