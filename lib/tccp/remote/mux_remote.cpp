#include "tccp/remote/mux_remote.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "tccp/core/error.hpp"
#include "tccp/ssh/mux_protocol.hpp"

namespace tccp::remote {

namespace mux = ssh::mux;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t stdin_chunk = std::size_t{256} * 1024;

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }
  int release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }

private:
  int m_fd;
};

int poll_timeout(std::chrono::milliseconds idle) {
  return idle.count() <= 0 ? -1 : static_cast<int>(idle.count());
}

// One request/response exchange with the server: writes never block the
// reading of output (so neither side can stall the other).
class Exchange {
public:
  Exchange(int fd, const Sink& out, const Sink& err, std::chrono::milliseconds idle,
           std::string who)
      : m_fd(fd), m_out(out), m_err(err), m_idle(idle), m_who(std::move(who)) {}

  bool done() const { return m_done; }
  const ExecResult& result() const { return m_result; }

  /// Delivers whatever output has arrived, without waiting.
  void pump() { read_available(); }

  void send(std::string_view data) {
    while (!data.empty() && !m_done) {
      ssize_t w = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        data.remove_prefix(static_cast<std::size_t>(w));
        continue;
      }
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{m_fd, POLLIN | POLLOUT, 0};
        int n = ::poll(&p, 1, poll_timeout(m_idle));
        if (n == 0) {
          timed_out();
        }
        if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          read_available();
        }
        continue;
      }
      // The server closed the socket: the command is over (its exit frame,
      // if any, is still to be read).
      read_available();
      if (!m_done) {
        wait();
      }
      return;
    }
  }

  void wait() {
    while (!m_done) {
      pollfd p{m_fd, POLLIN, 0};
      int n = ::poll(&p, 1, poll_timeout(m_idle));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n == 0) {
        timed_out();
      }
      read_available();
    }
  }

private:
  [[noreturn]] void timed_out() {
    throw Error(ExitCode::unreachable,
                "no answer from " + m_who + " for " + std::to_string(m_idle.count() / 1000) + " s",
                "the command may still be running on the cluster");
  }

  void read_available() {
    char buf[65536];
    while (!m_done) {
      ssize_t r = ::recv(m_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) {
        m_in.append(buf, static_cast<std::size_t>(r));
        parse();
        continue;
      }
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      }
      throw Error(ExitCode::unreachable,
                  "lost the connection to " + m_who + " before the command finished",
                  "the tccp-connect master may have stopped; run the command again");
    }
  }

  void parse() {
    while (!m_done) {
      mux::FrameType type{};
      std::string_view payload;
      std::size_t used = mux::parse_frame(m_in, type, payload);
      if (used == 0) {
        return;
      }
      switch (type) {
      case mux::FrameType::stdout_data: m_out(payload); break;
      case mux::FrameType::stderr_data: m_err(payload); break;
      case mux::FrameType::exit: {
        mux::Exit e = mux::decode_exit(payload);
        m_result.exit_code = e.exit_code;
        m_result.signal = e.signal;
        m_done = true;
        break;
      }
      case mux::FrameType::failure: throw mux::decode_failure(payload);
      default: throw Error(ExitCode::protocol, "unexpected frame from " + m_who);
      }
      m_in.erase(0, used);
    }
  }

  int m_fd;
  const Sink& m_out;
  const Sink& m_err;
  std::chrono::milliseconds m_idle;
  std::string m_who;
  std::string m_in;
  ExecResult m_result;
  bool m_done = false;
};

// ---- interactive ---------------------------------------------------------------

int g_winch_pipe = -1;

void on_winch(int /*sig*/) {
  if (g_winch_pipe >= 0) {
    static constexpr char c = 'w';
    (void)!::write(g_winch_pipe, &c, 1);
  }
}

class RawTerminal {
public:
  explicit RawTerminal(int fd) : m_fd(fd) {
    if (::tcgetattr(fd, &m_saved) != 0) {
      return;
    }
    termios raw = m_saved;
    raw.c_iflag |= IGNPAR;
    raw.c_iflag &= ~static_cast<tcflag_t>(ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXANY | IXOFF);
    raw.c_lflag &= ~static_cast<tcflag_t>(ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHONL | IEXTEN);
    raw.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    m_active = ::tcsetattr(fd, TCSADRAIN, &raw) == 0;
  }
  ~RawTerminal() {
    if (m_active) {
      ::tcsetattr(m_fd, TCSADRAIN, &m_saved);
    }
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

private:
  int m_fd;
  termios m_saved{};
  bool m_active = false;
};

class WinchWatch {
public:
  WinchWatch() {
    if (::pipe2(m_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
      m_pipe[0] = m_pipe[1] = -1;
      return;
    }
    g_winch_pipe = m_pipe[1];
    struct sigaction sa {};
    sa.sa_handler = on_winch;
    ::sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGWINCH, &sa, &m_old);
  }
  ~WinchWatch() {
    if (m_pipe[0] >= 0) {
      ::sigaction(SIGWINCH, &m_old, nullptr);
      g_winch_pipe = -1;
      ::close(m_pipe[0]);
      ::close(m_pipe[1]);
    }
  }
  WinchWatch(const WinchWatch&) = delete;
  WinchWatch& operator=(const WinchWatch&) = delete;
  int fd() const { return m_pipe[0]; }

private:
  int m_pipe[2] = {-1, -1};
  struct sigaction m_old {};
};

bool window_size(int& cols, int& rows) {
  winsize ws{};
  for (int fd : {STDIN_FILENO, STDOUT_FILENO}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
      cols = ws.ws_col;
      rows = ws.ws_row;
      return true;
    }
  }
  return false;
}

void write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (w <= 0) {
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
}

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return -1;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

MuxRemote::MuxRemote(std::function<int()> dial, std::string description)
    : m_dial(std::move(dial)), m_description(std::move(description)) {}

ExecResult MuxRemote::run(const std::string& command, std::string_view stdin_data,
                          const ExecOptions& options) {
  std::string out;
  std::string err;
  ExecResult r = stream(
      command,
      [&](const StdinWriter& w) {
        if (!stdin_data.empty()) {
          w(stdin_data);
        }
      },
      [&](std::string_view d) { out.append(d); }, [&](std::string_view d) { err.append(d); },
      options);
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

ExecResult MuxRemote::stream(const std::string& command, const Producer& producer,
                             const Sink& on_stdout, const Sink& on_stderr,
                             const ExecOptions& options) {
  Fd fd(m_dial());
  mux::Request req;
  req.op = "exec";
  req.command = command;
  req.bulk = true;
  Exchange ex(fd.get(), on_stdout, on_stderr, options.idle_timeout, m_description);
  ex.send(mux::encode_request(req));
  std::string frame;
  StdinWriter writer = [&](std::string_view data) {
    if (data.empty() && !ex.done()) {
      ex.pump();
    }
    while (!data.empty() && !ex.done()) {
      std::string_view chunk = data.substr(0, stdin_chunk);
      frame.clear();
      mux::append_frame(frame, mux::FrameType::stdin_data, chunk);
      ex.send(frame);
      data.remove_prefix(chunk.size());
    }
  };
  if (producer) {
    producer(writer);
  }
  frame.clear();
  mux::append_frame(frame, mux::FrameType::stdin_eof, {});
  ex.send(frame);
  ex.wait();
  return ex.result();
}

int MuxRemote::interactive(const std::string& command) {
  bool tty = ::isatty(STDIN_FILENO) != 0;
  mux::Request req;
  req.op = "exec";
  req.command = command;
  req.pty = tty;
  if (const char* term = std::getenv("TERM"); term != nullptr && *term != '\0') {
    req.term = term;
  }
  window_size(req.cols, req.rows);
  Fd fd(m_dial());
  mux::write_all(fd.get(), mux::encode_request(req), std::chrono::seconds(30));

  std::optional<RawTerminal> raw;
  if (tty) {
    raw.emplace(STDIN_FILENO);
  }
  WinchWatch winch;
  std::string in;
  bool stdin_open = true;
  std::string frame;
  while (true) {
    pollfd fds[3] = {{fd.get(), POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                     {winch.fd(), POLLIN, 0}};
    int n = ::poll(fds, 3, -1);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(ExitCode::internal, std::string("poll: ") + std::strerror(errno));
    }
    if ((fds[2].revents & POLLIN) != 0) {
      char drain[16];
      while (::read(winch.fd(), drain, sizeof drain) > 0) {
      }
      int cols = 0;
      int rows = 0;
      if (tty && window_size(cols, rows)) {
        frame.clear();
        mux::append_frame(frame, mux::FrameType::resize,
                          std::to_string(cols) + " " + std::to_string(rows));
        mux::write_all(fd.get(), frame, std::chrono::seconds(30));
      }
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[16384];
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r > 0) {
        frame.clear();
        mux::append_frame(frame, mux::FrameType::stdin_data,
                          std::string_view(buf, static_cast<std::size_t>(r)));
        mux::write_all(fd.get(), frame, std::chrono::seconds(30));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_open = false;
        frame.clear();
        mux::append_frame(frame, mux::FrameType::stdin_eof, {});
        mux::write_all(fd.get(), frame, std::chrono::seconds(30));
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[65536];
      ssize_t r = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        throw Error(ExitCode::unreachable,
                    "lost the connection to " + m_description + " before the session ended");
      }
      if (r > 0) {
        in.append(buf, static_cast<std::size_t>(r));
      }
      while (true) {
        mux::FrameType type{};
        std::string_view payload;
        std::size_t used = mux::parse_frame(in, type, payload);
        if (used == 0) {
          break;
        }
        switch (type) {
        case mux::FrameType::stdout_data: write_fd(STDOUT_FILENO, payload); break;
        case mux::FrameType::stderr_data: write_fd(STDERR_FILENO, payload); break;
        case mux::FrameType::exit: return mux::decode_exit(payload).exit_code;
        case mux::FrameType::failure: throw mux::decode_failure(payload);
        default: throw Error(ExitCode::protocol, "unexpected frame from " + m_description);
        }
        in.erase(0, used);
      }
    }
  }
}

int MuxRemote::forward(const std::string& host, int port) {
  Fd fd(m_dial());
  ssh::request_forward(fd.get(), host, port);
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return fd.release();
}

SshRemote::SshRemote(std::unique_ptr<ssh::Connection> connection)
    : MuxRemote([this] { return m_connection->dial(); }, connection->describe()),
      m_connection(std::move(connection)) {}

SshRemote::~SshRemote() = default;

std::unique_ptr<Remote> connect_direct(const ssh::Target& target, ssh::ConnectContext& ctx) {
  auto session = ssh::Session::connect(target, ctx);
  ssh::MuxOptions opts;
  auto connection = std::make_unique<ssh::Connection>(std::move(session), std::move(opts));
  return std::make_unique<SshRemote>(std::move(connection));
}

std::unique_ptr<Remote> connect_master(const std::string& socket_path,
                                       const std::string& description) {
  int probe = connect_unix(socket_path);
  if (probe < 0) {
    return nullptr;
  }
  ::close(probe);
  std::string path = socket_path;
  std::string who = description + " (via tccp-connect)";
  return std::make_unique<MuxRemote>(
      [path, who]() {
        int fd = connect_unix(path);
        if (fd < 0) {
          throw Error(ExitCode::unreachable, "the tccp-connect master for " + who + " went away",
                      "run the command again (it connects directly), or 'tccp-connect start'");
        }
        return fd;
      },
      who);
}

std::optional<std::string> ask_master(const std::string& socket_path, const std::string& op) {
  int raw = connect_unix(socket_path);
  if (raw < 0) {
    return std::nullopt;
  }
  Fd fd(raw);
  mux::Request req;
  req.op = op;
  mux::write_all(fd.get(), mux::encode_request(req), std::chrono::seconds(10));
  return mux::read_line(fd.get(), std::chrono::seconds(30));
}

} // namespace tccp::remote
