#pragma once
/// The JSON envelope every tccp tool reads and writes (docs/protocol.md):
///   {"tccp": "1.0", "type": "...", "data": {...}, "warnings": [...]}
/// proto is the only module whose public headers name nlohmann types.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tccp/core/error.hpp"

namespace tccp::proto {

using Json = nlohmann::ordered_json;

/// The protocol version this build writes. Readers accept any 1.x.
inline constexpr const char* protocol_version = "1.0";

struct Envelope {
  std::string type;
  Json data = Json::object();
  std::vector<std::string> warnings;
  std::string version = protocol_version;

  /// The document as one line of JSON (no trailing newline).
  std::string dump() const;
  Json to_json() const;
};

/// Parses one envelope. Throws Error(protocol) on malformed JSON, a missing
/// or non-string "tccp"/"type", or a major version other than 1 ("tccp 2.0
/// documents need a newer tccp"). Unknown fields are ignored.
Envelope parse_envelope(std::string_view text);

/// An `error` envelope: data {code, exit_code, message, hint}.
Envelope make_error(const Error& error, const std::string& tool);

/// True for an `error` envelope; its exit code is data.exit_code.
bool is_error(const Envelope& envelope);
ExitCode error_exit_code(const Envelope& envelope);

/// Thrown by read_input() when the upstream tool sent an error envelope: the
/// catcher re-emits `raw` unchanged on stdout and exits with `code`.
class PassThrough : public std::exception {
public:
  PassThrough(std::string raw, ExitCode code) : m_raw(std::move(raw)), m_code(code) {}
  const char* what() const noexcept override { return "upstream error"; }
  const std::string& raw() const { return m_raw; }
  ExitCode code() const { return m_code; }

private:
  std::string m_raw;
  ExitCode m_code;
};

/// Reads the one document a tool expects on stdin. Throws PassThrough for an
/// error envelope, Error(protocol) for anything else than `expected_type`
/// (when not empty) and Error(usage) when stdin is a terminal or empty.
Envelope read_input(std::istream& in, const std::string& expected_type);

/// Writes an envelope followed by a newline and flushes.
void write_envelope(std::ostream& out, const Envelope& envelope);

/// JSON Lines streams: each event is an envelope on its own line; a stream
/// ends with exactly one `result` or `error` line.
void write_event(std::ostream& out, const std::string& type, const Json& data);

} // namespace tccp::proto
