#pragma once
/// The Remote interface: every tool talks to the cluster through it. Its
/// implementations are the SSH session (direct), the client of the
/// tccp-connect control master, and LocalRemote (a local `sh -c`, for tests
/// and for clusters reachable as this machine). Commands are POSIX sh
/// command lines whose every argument went through util::shell_quote.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tccp::remote {

/// The outcome of one remote command.
struct ExecResult {
  int exit_code = 0;                 ///< the command's exit status
  std::optional<std::string> signal; ///< signal name ("TERM") when killed by one
  std::string out;                   ///< stdout (empty when streamed)
  std::string err;                   ///< stderr (empty when streamed)
};

/// Receives output bytes as they arrive.
using Sink = std::function<void(std::string_view)>;

/// Writes to the command's stdin. Blocks until the bytes are accepted
/// (draining the command's output meanwhile, so neither side stalls).
using StdinWriter = std::function<void(std::string_view)>;

/// Produces the command's stdin by calling the writer any number of times;
/// stdin is closed (EOF) when it returns.
using Producer = std::function<void(const StdinWriter&)>;

struct ExecOptions {
  /// No output for this long ends the command with Error(unreachable);
  /// zero or less: no limit (interactive tools, long waits).
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
};

class Remote {
public:
  virtual ~Remote() = default;

  /// Runs `command`, feeds it `stdin_data`, collects stdout and stderr.
  /// Throws Error(unreachable) when the connection fails or times out; a
  /// non-zero exit is not an error here (see exit_code).
  virtual ExecResult run(const std::string& command, std::string_view stdin_data = {},
                         const ExecOptions& options = {}) = 0;

  /// Runs `command` with its stdin produced by `producer` and its output
  /// handed to the sinks as it arrives, without buffering it whole. out/err
  /// in the result are empty.
  virtual ExecResult stream(const std::string& command, const Producer& producer,
                            const Sink& on_stdout, const Sink& on_stderr,
                            const ExecOptions& options = {}) = 0;

  /// Runs `command` on a pseudo-terminal wired to this process's terminal
  /// (raw mode, window size changes follow; Ctrl+C reaches the remote
  /// program); returns its exit status (128+N when killed by signal N). An
  /// empty command is the login shell. Without a terminal on stdin, no pty
  /// is requested and stdin is passed through.
  virtual int interactive(const std::string& command) = 0;

  /// Opens a byte stream to `host`:`port` as seen from the cluster's login
  /// host (an SSH direct-tcpip channel): returns a connected socket the
  /// caller owns and closes. shutdown(SHUT_WR) on it sends EOF. Throws
  /// Error(unreachable) when the cluster cannot connect there.
  virtual int forward(const std::string& host, int port);

  /// A short name for messages ("tccpuser@login").
  virtual std::string describe() const = 0;
};

/// Runs commands with the local /bin/sh; useful for tests and for a cluster
/// that is this machine.
class LocalRemote : public Remote {
public:
  ExecResult run(const std::string& command, std::string_view stdin_data = {},
                 const ExecOptions& options = {}) override;
  ExecResult stream(const std::string& command, const Producer& producer, const Sink& on_stdout,
                    const Sink& on_stderr, const ExecOptions& options = {}) override;
  int interactive(const std::string& command) override;
  int forward(const std::string& host, int port) override;
  std::string describe() const override { return "localhost"; }
};

/// Connects on first use: a tool that may find it has nothing to ask the
/// cluster opens no connection (over ssh, a handshake and an MFA prompt).
class LazyRemote : public Remote {
public:
  using Opener = std::function<std::unique_ptr<Remote>()>;
  LazyRemote(Opener open, std::string description)
      : m_open(std::move(open)), m_description(std::move(description)) {}
  ExecResult run(const std::string& command, std::string_view stdin_data = {},
                 const ExecOptions& options = {}) override {
    return get().run(command, stdin_data, options);
  }
  ExecResult stream(const std::string& command, const Producer& producer, const Sink& on_stdout,
                    const Sink& on_stderr, const ExecOptions& options = {}) override {
    return get().stream(command, producer, on_stdout, on_stderr, options);
  }
  int interactive(const std::string& command) override { return get().interactive(command); }
  int forward(const std::string& host, int port) override { return get().forward(host, port); }
  std::string describe() const override { return m_remote ? m_remote->describe() : m_description; }

private:
  Remote& get() {
    if (!m_remote) {
      m_remote = m_open();
    }
    return *m_remote;
  }
  Opener m_open;
  std::string m_description;
  std::unique_ptr<Remote> m_remote;
};

} // namespace tccp::remote
