#include "tccp/sync/counting_remote.hpp"

namespace tccp::sync {

remote::ExecResult CountingRemote::run(const std::string& command, std::string_view stdin_data,
                                       const remote::ExecOptions& options) {
  ++m_round_trips;
  m_bytes_sent += stdin_data.size();
  auto r = m_inner.run(command, stdin_data, options);
  m_bytes_received += r.out.size() + r.err.size();
  return r;
}

remote::ExecResult CountingRemote::stream(const std::string& command,
                                          const remote::Producer& producer,
                                          const remote::Sink& on_stdout,
                                          const remote::Sink& on_stderr,
                                          const remote::ExecOptions& options) {
  ++m_round_trips;
  remote::Producer counted = [&](const remote::StdinWriter& write) {
    producer([&](std::string_view data) {
      m_bytes_sent += data.size();
      write(data);
    });
  };
  return m_inner.stream(
      command, counted,
      [&](std::string_view d) {
        m_bytes_received += d.size();
        on_stdout(d);
      },
      [&](std::string_view d) {
        m_bytes_received += d.size();
        on_stderr(d);
      },
      options);
}

int CountingRemote::interactive(const std::string& command) {
  ++m_round_trips;
  return m_inner.interactive(command);
}

} // namespace tccp::sync
