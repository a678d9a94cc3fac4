#pragma once
/// A Remote that counts what goes through it: every run/stream/interactive
/// call is one exec channel, i.e. one round trip. Sync reports these counts
/// (`round_trips` in the sync object) and tests assert on them.
#include <cstdint>

#include "tccp/remote/remote.hpp"

namespace tccp::sync {

class CountingRemote : public remote::Remote {
public:
  explicit CountingRemote(remote::Remote& inner) : m_inner(inner) {}

  remote::ExecResult run(const std::string& command, std::string_view stdin_data = {},
                         const remote::ExecOptions& options = {}) override;
  remote::ExecResult stream(const std::string& command, const remote::Producer& producer,
                            const remote::Sink& on_stdout, const remote::Sink& on_stderr,
                            const remote::ExecOptions& options = {}) override;
  int interactive(const std::string& command) override;
  std::string describe() const override { return m_inner.describe(); }

  int round_trips() const { return m_round_trips; }
  std::uint64_t bytes_sent() const { return m_bytes_sent; }         ///< stdin bytes
  std::uint64_t bytes_received() const { return m_bytes_received; } ///< stdout + stderr

private:
  remote::Remote& m_inner;
  int m_round_trips = 0;
  std::uint64_t m_bytes_sent = 0;
  std::uint64_t m_bytes_received = 0;
};

} // namespace tccp::sync
