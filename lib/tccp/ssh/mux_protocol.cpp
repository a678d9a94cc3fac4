#include "tccp/ssh/mux_protocol.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace tccp::ssh::mux {

namespace {
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xFF));
  out.push_back(static_cast<char>((v >> 16) & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}

int wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return 0;
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n;
  }
}

bool known_type(char c) {
  switch (static_cast<FrameType>(c)) {
  case FrameType::stdin_data:
  case FrameType::stdin_eof:
  case FrameType::resize:
  case FrameType::stdout_data:
  case FrameType::stderr_data:
  case FrameType::exit:
  case FrameType::failure: return true;
  }
  return false;
}
} // namespace

void append_frame(std::string& out, FrameType type, std::string_view payload) {
  out.push_back(static_cast<char>(type));
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out.append(payload);
}

std::size_t parse_frame(std::string_view buf, FrameType& type, std::string_view& payload) {
  if (buf.size() < frame_header_size) {
    return 0;
  }
  if (!known_type(buf[0])) {
    throw Error(ExitCode::protocol, "bad frame from the tccp-connect peer (type " +
                                        std::to_string(static_cast<unsigned char>(buf[0])) + ")");
  }
  std::uint32_t len = (static_cast<std::uint32_t>(static_cast<unsigned char>(buf[1])) << 24) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(buf[2])) << 16) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(buf[3])) << 8) |
                      static_cast<std::uint32_t>(static_cast<unsigned char>(buf[4]));
  if (len > max_frame_payload) {
    throw Error(ExitCode::protocol, "oversized frame from the tccp-connect peer");
  }
  if (buf.size() < frame_header_size + len) {
    return 0;
  }
  type = static_cast<FrameType>(buf[0]);
  payload = buf.substr(frame_header_size, len);
  return frame_header_size + len;
}

std::string encode_request(const Request& r) {
  Json j;
  j["v"] = protocol_version;
  j["op"] = r.op;
  if (r.op == "exec") {
    j["command"] = r.command;
    j["pty"] = r.pty;
    if (r.pty) {
      j["term"] = r.term;
      j["cols"] = r.cols;
      j["rows"] = r.rows;
    }
    j["bulk"] = r.bulk;
  } else if (r.op == "forward") {
    j["host"] = r.host;
    j["port"] = r.port;
  }
  return j.dump() + "\n";
}

Request decode_request(std::string_view line) {
  Request r;
  try {
    Json j = Json::parse(line);
    if (j.value("v", 0) != protocol_version) {
      throw Error(ExitCode::protocol, "tccp-connect protocol version mismatch",
                  "restart the master: tccp-connect stop; tccp-connect start");
    }
    r.op = j.at("op").get<std::string>();
    r.command = j.value("command", std::string());
    r.pty = j.value("pty", false);
    r.term = j.value("term", std::string("xterm-256color"));
    r.cols = j.value("cols", 80);
    r.rows = j.value("rows", 24);
    r.bulk = j.value("bulk", false);
    r.host = j.value("host", std::string());
    r.port = j.value("port", 0);
  } catch (const Json::exception& e) {
    throw Error(ExitCode::protocol, std::string("bad request to tccp-connect: ") + e.what());
  }
  return r;
}

std::string encode_exit(const Exit& e) {
  Json j;
  j["exit_code"] = e.exit_code;
  j["signal"] = e.signal ? Json(*e.signal) : Json(nullptr);
  return j.dump();
}

Exit decode_exit(std::string_view payload) {
  try {
    Json j = Json::parse(payload);
    Exit e;
    e.exit_code = j.at("exit_code").get<int>();
    if (j.contains("signal") && j["signal"].is_string()) {
      e.signal = j["signal"].get<std::string>();
    }
    return e;
  } catch (const Json::exception& ex) {
    throw Error(ExitCode::protocol, std::string("bad exit frame from tccp-connect: ") + ex.what());
  }
}

std::string encode_failure(const Error& error) {
  Json j;
  j["ok"] = false;
  j["exit_code"] = static_cast<int>(error.code());
  j["message"] = error.what();
  j["hint"] = error.hint();
  return j.dump();
}

Error decode_failure(std::string_view payload) {
  try {
    Json j = Json::parse(payload);
    return Error(static_cast<ExitCode>(j.value("exit_code", 1)),
                 j.value("message", std::string("failed")), j.value("hint", std::string()));
  } catch (const Json::exception& ex) {
    return Error(ExitCode::protocol,
                 std::string("bad failure reply from tccp-connect: ") + ex.what());
  }
}

std::string encode_ok() {
  return "{\"ok\":true}";
}

void write_all(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w > 0) {
      data.remove_prefix(static_cast<std::size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(fd, POLLOUT, deadline) <= 0) {
        throw Error(ExitCode::unreachable, "timed out talking to tccp-connect");
      }
      continue;
    }
    throw Error(ExitCode::unreachable,
                std::string("lost the tccp-connect connection: ") + std::strerror(errno));
  }
}

std::string read_line(int fd, std::chrono::milliseconds timeout, std::size_t max) {
  auto deadline = Clock::now() + timeout;
  std::string line;
  while (line.size() < max) {
    char c = 0;
    ssize_t r = ::read(fd, &c, 1);
    if (r == 1) {
      if (c == '\n') {
        return line;
      }
      line.push_back(c);
      continue;
    }
    if (r == 0) {
      throw Error(ExitCode::unreachable, "tccp-connect closed the connection");
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_fd(fd, POLLIN, deadline) <= 0) {
        throw Error(ExitCode::unreachable, "timed out waiting for tccp-connect");
      }
      continue;
    }
    throw Error(ExitCode::unreachable,
                std::string("lost the tccp-connect connection: ") + std::strerror(errno));
  }
  throw Error(ExitCode::protocol, "overlong reply from tccp-connect");
}

int signal_number(std::string_view name) {
  static constexpr std::pair<std::string_view, int> table[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"ABRT", SIGABRT},
      {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"SEGV", SIGSEGV}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"BUS", SIGBUS},   {"TRAP", SIGTRAP},
      {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"SYS", SIGSYS}};
  if (name.substr(0, 3) == "SIG") {
    name.remove_prefix(3);
  }
  for (const auto& [n, v] : table) {
    if (n == name) {
      return v;
    }
  }
  return 0;
}

} // namespace tccp::ssh::mux
