#pragma once
/// Remote implementations speaking the mux protocol (ssh/mux_protocol.hpp):
/// MuxRemote is the client side, given a way to dial the server. It serves
/// both the tccp-connect master (a Unix socket) and a direct connection
/// (SshRemote: an in-process loop reached through socketpairs).
#include <functional>
#include <memory>
#include <string>

#include "tccp/remote/remote.hpp"
#include "tccp/ssh/connection.hpp"
#include "tccp/ssh/session.hpp"

namespace tccp::remote {

/// A client of a mux server. Every operation is one socket connection.
/// In stream(), writing an empty string delivers the output that has
/// arrived so far without waiting (for producers that wait on input).
class MuxRemote : public Remote {
public:
  /// `dial` returns a new connected socket to the server (the remote owns
  /// and closes it); `description` names the cluster in messages.
  MuxRemote(std::function<int()> dial, std::string description);

  ExecResult run(const std::string& command, std::string_view stdin_data = {},
                 const ExecOptions& options = {}) override;
  ExecResult stream(const std::string& command, const Producer& producer, const Sink& on_stdout,
                    const Sink& on_stderr, const ExecOptions& options = {}) override;
  int interactive(const std::string& command) override;
  int forward(const std::string& host, int port) override;
  std::string describe() const override { return m_description; }

private:
  std::function<int()> m_dial;
  std::string m_description;
};

/// A direct SSH connection owned by this process (no master): the session
/// runs on its own loop thread; closing the remote closes the connection.
class SshRemote : public MuxRemote {
public:
  explicit SshRemote(std::unique_ptr<ssh::Connection> connection);
  ~SshRemote() override;
  SshRemote(const SshRemote&) = delete;
  SshRemote& operator=(const SshRemote&) = delete;

private:
  std::unique_ptr<ssh::Connection> m_connection;
};

/// Connects directly (may prompt through ctx.prompter) and returns the
/// remote. Throws like ssh::Session::connect.
std::unique_ptr<Remote> connect_direct(const ssh::Target& target, ssh::ConnectContext& ctx);

/// The client of a running tccp-connect master listening on `socket_path`,
/// or nullptr when none answers there.
std::unique_ptr<Remote> connect_master(const std::string& socket_path,
                                       const std::string& description);

/// Sends a one-line request ("status", "stop") to the master at
/// `socket_path` and returns its one-line JSON answer; nullopt when no
/// master answers.
std::optional<std::string> ask_master(const std::string& socket_path, const std::string& op);

} // namespace tccp::remote
