#include <sstream>

#include <gtest/gtest.h>

#include "tccp/proto/envelope.hpp"

using namespace tccp;
using namespace tccp::proto;

namespace {
Error protocol_error_of(const std::string& text) {
  try {
    parse_envelope(text);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << text;
  return Error(ExitCode::ok, "");
}
} // namespace

TEST(Envelope, WritesVersionTypeDataWarningsInThatOrder) {
  Envelope env;
  env.type = "job";
  env.data["job"] = "train";
  env.warnings.emplace_back("careful");
  EXPECT_EQ(env.dump(),
            R"({"tccp":"1.0","type":"job","data":{"job":"train"},"warnings":["careful"]})");
}

TEST(Envelope, ReaderAcceptsAnyMinorOfMajorOneWithUnknownFields) {
  Envelope env = parse_envelope(R"({"tccp":"1.7","type":"job","data":{"job":"t","new":1},)"
                                R"("warnings":[],"signature":"future"})");
  EXPECT_EQ(env.version, "1.7");
  EXPECT_EQ(env.type, "job");
  EXPECT_EQ(env.data["job"], "t");
  EXPECT_EQ(env.data["new"], 1);
}

TEST(Envelope, ReaderAcceptsUnknownTypes) {
  EXPECT_EQ(parse_envelope(R"({"tccp":"1.0","type":"hologram","data":{}})").type, "hologram");
}

TEST(Envelope, ReaderRejectsMajorTwoWithAClearMessage) {
  Error e = protocol_error_of(R"({"tccp":"2.0","type":"job","data":{}})");
  EXPECT_EQ(e.code(), ExitCode::protocol);
  EXPECT_STREQ(e.what(), "input is a tccp 2.0 document, this tccp reads version 1.x");
  EXPECT_EQ(e.hint(), "upgrade tccp, or use the same tccp version for every tool in the pipe");
}

TEST(Envelope, ReaderRejectsNonDocuments) {
  EXPECT_EQ(protocol_error_of("not json").code(), ExitCode::protocol);
  EXPECT_STREQ(protocol_error_of(R"({"type":"job"})").what(),
               "input is not a tccp document (no \"tccp\" version field)");
  EXPECT_STREQ(protocol_error_of(R"({"tccp":"1.0"})").what(), "input document has no \"type\"");
}

TEST(ReadInput, ErrorEnvelopeIsPassedOnUnchangedWithItsCode) {
  const std::string raw =
      R"({"tccp":"1.0","type":"error","data":{"code":"config","exit_code":3,)"
      R"("message":"tccp.yaml:1:7: cpus: bad","hint":null,"tool":"tccp-config"},)"
      R"("warnings":[]})";
  std::istringstream in(raw + "\n");
  try {
    read_input(in, "job");
    FAIL() << "no pass-through";
  } catch (const PassThrough& p) {
    EXPECT_EQ(p.raw(), raw);
    EXPECT_EQ(p.code(), ExitCode::config);
  }
}

TEST(ReadInput, ErrorEnvelopeWithoutExitCodeFailsWithOne) {
  std::istringstream in(R"({"tccp":"1.0","type":"error","data":{}})");
  try {
    read_input(in, "job");
    FAIL() << "no pass-through";
  } catch (const PassThrough& p) {
    EXPECT_EQ(p.code(), ExitCode::failed);
  }
}

TEST(ReadInput, StreamHandsOnItsLastDocument) {
  std::istringstream in("{\"tccp\":\"1.0\",\"type\":\"progress\",\"data\":{}}\n"
                        "{\"tccp\":\"1.0\",\"type\":\"job\",\"data\":{\"job\":\"t\"}}\n");
  EXPECT_EQ(read_input(in, "job").data["job"], "t");
}

TEST(ReadInput, WrongTypeIsAProtocolError) {
  std::istringstream in(R"({"tccp":"1.0","type":"cluster","data":{}})");
  try {
    read_input(in, "job");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::protocol);
    EXPECT_STREQ(e.what(), "expected a 'job' document on standard input, got 'cluster'");
  }
}

TEST(ReadInput, NothingOnStdinIsAUsageError) {
  std::istringstream in("\n");
  try {
    read_input(in, "job");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
  }
}

TEST(ErrorEnvelope, CarriesCodeNameMessageHintAndTool) {
  Envelope env =
      make_error(Error(ExitCode::unreachable, "cannot reach 'login'", "check VPN"), "tccp-alloc");
  EXPECT_TRUE(is_error(env));
  EXPECT_EQ(error_exit_code(env), ExitCode::unreachable);
  EXPECT_EQ(env.dump(), R"({"tccp":"1.0","type":"error","data":{"code":"unreachable",)"
                        R"("exit_code":6,"message":"cannot reach 'login'","hint":"check VPN",)"
                        R"("tool":"tccp-alloc"},"warnings":[]})");
}

TEST(ExitCodes, OneTableWithStableNames) {
  EXPECT_EQ(static_cast<int>(ExitCode::usage), 2);
  EXPECT_EQ(static_cast<int>(ExitCode::config), 3);
  EXPECT_EQ(static_cast<int>(ExitCode::protocol), 4);
  EXPECT_EQ(static_cast<int>(ExitCode::internal), 70);
  EXPECT_EQ(static_cast<int>(ExitCode::interrupted), 130);
  for (ExitCode c : {ExitCode::ok, ExitCode::failed, ExitCode::usage, ExitCode::config,
                     ExitCode::protocol, ExitCode::auth, ExitCode::unreachable, ExitCode::refused,
                     ExitCode::internal, ExitCode::interrupted}) {
    EXPECT_EQ(exit_code_from_name(exit_code_name(c)), c);
  }
}
