#include "tccp/proto/envelope.hpp"

#include <istream>
#include <iterator>
#include <ostream>

#include "tccp/util/strings.hpp"

namespace tccp::proto {

Json Envelope::to_json() const {
  Json j = Json::object();
  j["tccp"] = version;
  j["type"] = type;
  j["data"] = data;
  j["warnings"] = warnings;
  return j;
}

std::string Envelope::dump() const {
  return to_json().dump();
}

Envelope parse_envelope(std::string_view text) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error(ExitCode::protocol, std::string("input is not a tccp JSON document: ") + e.what());
  }
  if (!j.is_object() || !j.contains("tccp") || !j["tccp"].is_string()) {
    throw Error(ExitCode::protocol, "input is not a tccp document (no \"tccp\" version field)");
  }
  Envelope env;
  env.version = j["tccp"].get<std::string>();
  auto parts = util::split(env.version, '.');
  if (parts.empty() || parts[0] != "1") {
    throw Error(ExitCode::protocol,
                "input is a tccp " + env.version + " document, this tccp reads version 1.x",
                "upgrade tccp, or use the same tccp version for every tool in the pipe");
  }
  if (!j.contains("type") || !j["type"].is_string()) {
    throw Error(ExitCode::protocol, "input document has no \"type\"");
  }
  env.type = j["type"].get<std::string>();
  if (j.contains("data")) {
    env.data = j["data"];
  }
  if (j.contains("warnings") && j["warnings"].is_array()) {
    for (const auto& w : j["warnings"]) {
      if (w.is_string()) {
        env.warnings.push_back(w.get<std::string>());
      }
    }
  }
  return env;
}

Envelope make_error(const Error& error, const std::string& tool) {
  Envelope env;
  env.type = "error";
  env.data["code"] = exit_code_name(error.code());
  env.data["exit_code"] = static_cast<int>(error.code());
  env.data["message"] = error.what();
  env.data["hint"] = error.hint().empty() ? Json(nullptr) : Json(error.hint());
  env.data["tool"] = tool;
  return env;
}

bool is_error(const Envelope& envelope) {
  return envelope.type == "error";
}

ExitCode error_exit_code(const Envelope& envelope) {
  if (envelope.data.contains("exit_code") && envelope.data["exit_code"].is_number_integer()) {
    int code = envelope.data["exit_code"].get<int>();
    if (code > 0 && code < 256) {
      return static_cast<ExitCode>(code);
    }
  }
  return ExitCode::failed;
}

Envelope read_input(std::istream& in, const std::string& expected_type) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (util::trim(text).empty()) {
    throw Error(ExitCode::usage,
                "expected a '" + expected_type + "' document on standard input, got nothing",
                "pipe in the output of the previous tool, e.g. 'tccp-config resolve train | ...'");
  }
  // A stream (JSON Lines) hands on its last document.
  auto lines = util::split(util::trim(text), '\n');
  std::string last = lines.back();
  Envelope env = parse_envelope(last);
  if (is_error(env)) {
    throw PassThrough(last, error_exit_code(env));
  }
  if (!expected_type.empty() && env.type != expected_type) {
    throw Error(ExitCode::protocol, "expected a '" + expected_type +
                                        "' document on standard input, got '" + env.type + "'");
  }
  return env;
}

void write_envelope(std::ostream& out, const Envelope& envelope) {
  out << envelope.dump() << '\n';
  out.flush();
}

void write_event(std::ostream& out, const std::string& type, const Json& data) {
  Envelope env;
  env.type = type;
  env.data = data;
  write_envelope(out, env);
}

} // namespace tccp::proto
