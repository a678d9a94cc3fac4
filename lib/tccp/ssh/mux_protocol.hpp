#pragma once
/// The local protocol between a client (a tccp tool) and a mux server (the
/// tccp-connect master, or the in-process loop of a direct connection).
/// One socket connection carries one request:
///
///   client: one JSON line: {"v":1,"op":"exec"|"forward"|"status"|"stop", ...}
///   exec:     then frames both ways until the server sends X (exit) or F (failure)
///   forward:  the server answers one JSON line ({"ok":true} or a failure);
///             after ok the socket is the raw byte stream of the channel
///   status/stop: the server answers one JSON line and closes
///
/// A frame is: type (1 byte), payload length (4 bytes, big endian), payload.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tccp/core/error.hpp"

namespace tccp::ssh::mux {

enum class FrameType : char {
  stdin_data = 'I',  ///< client -> server: bytes for the command's stdin
  stdin_eof = 'E',   ///< client -> server: stdin is finished
  resize = 'W',      ///< client -> server: "COLS ROWS" (pty only)
  stdout_data = 'O', ///< server -> client
  stderr_data = 'R', ///< server -> client
  exit = 'X',        ///< server -> client: {"exit_code":N,"signal":"TERM"|null}
  failure = 'F',     ///< server -> client: {"exit_code":6,"message":...,"hint":...}
};

inline constexpr std::size_t frame_header_size = 5;
inline constexpr std::size_t max_frame_payload = 1U << 20;
inline constexpr int protocol_version = 1;

/// Appends one frame to `out`.
void append_frame(std::string& out, FrameType type, std::string_view payload);

/// Parses the frame at the front of `buf`: returns the bytes it spans, or 0
/// when `buf` holds only part of it. Throws Error(protocol) on a frame no
/// peer would send.
std::size_t parse_frame(std::string_view buf, FrameType& type, std::string_view& payload);

struct Request {
  std::string op;      ///< exec | forward | status | stop
  std::string command; ///< exec: the command line; empty = login shell
  bool pty = false;    ///< exec: allocate a pseudo-terminal
  std::string term = "xterm-256color";
  int cols = 80;
  int rows = 24;
  bool bulk = false; ///< exec: a large window for throughput (streams)
  std::string host;  ///< forward: where the server side connects
  int port = 0;
};

/// The request as one JSON line (with its newline).
std::string encode_request(const Request& request);
/// Parses a request line; throws Error(protocol).
Request decode_request(std::string_view line);

struct Exit {
  int exit_code = 0;
  std::optional<std::string> signal;
};
std::string encode_exit(const Exit& exit);
Exit decode_exit(std::string_view payload);

/// A failure travels as its exit code, message and hint.
std::string encode_failure(const Error& error);
Error decode_failure(std::string_view payload);

/// The forward reply line: ok, or the failure.
std::string encode_ok();

/// Writes all of `data` to the (possibly non-blocking) fd, waiting at most
/// `timeout` in total. Throws Error(unreachable) on failure or timeout.
void write_all(int fd, std::string_view data, std::chrono::milliseconds timeout);

/// Reads one line (without the newline) of at most `max` bytes, reading
/// byte-wise so nothing after the newline is consumed. Throws
/// Error(unreachable) on EOF, error or timeout.
std::string read_line(int fd, std::chrono::milliseconds timeout, std::size_t max = 1U << 20);

/// The number of a signal named without "SIG" ("TERM" -> 15); 0 if unknown.
int signal_number(std::string_view name);

} // namespace tccp::ssh::mux
