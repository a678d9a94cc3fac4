#include <gtest/gtest.h>

#include <csignal>

#include "tccp/ssh/mux_protocol.hpp"

using namespace tccp;
using namespace tccp::ssh::mux;

TEST(MuxFrames, RoundTripAndPartialFrames) {
  std::string buf;
  append_frame(buf, FrameType::stdout_data, "hello");
  append_frame(buf, FrameType::stdin_eof, "");
  FrameType type{};
  std::string_view payload;
  EXPECT_EQ(parse_frame(std::string_view(buf).substr(0, 7), type, payload), 0U);
  std::size_t used = parse_frame(buf, type, payload);
  ASSERT_EQ(used, 10U);
  EXPECT_EQ(type, FrameType::stdout_data);
  EXPECT_EQ(payload, "hello");
  EXPECT_EQ(parse_frame(std::string_view(buf).substr(used), type, payload), 5U);
  EXPECT_EQ(type, FrameType::stdin_eof);
  EXPECT_TRUE(payload.empty());
}

TEST(MuxFrames, UnknownTypeAndOversizedFramesAreProtocolErrors) {
  FrameType type{};
  std::string_view payload;
  try {
    parse_frame(std::string("Z\0\0\0\0", 5), type, payload);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::protocol);
  }
  EXPECT_THROW(parse_frame(std::string("O\x7f\0\0\0", 5), type, payload), Error);
}

TEST(MuxRequests, EncodeDecodeKeepsEveryField) {
  Request r;
  r.op = "exec";
  r.command = "printf '%s\\n' \"a b\"; exit 3";
  r.pty = true;
  r.term = "vt100";
  r.cols = 132;
  r.rows = 50;
  std::string line = encode_request(r);
  ASSERT_EQ(line.back(), '\n');
  Request d = decode_request(std::string_view(line).substr(0, line.size() - 1));
  EXPECT_EQ(d.op, "exec");
  EXPECT_EQ(d.command, r.command);
  EXPECT_TRUE(d.pty);
  EXPECT_EQ(d.term, "vt100");
  EXPECT_EQ(d.cols, 132);
  EXPECT_EQ(d.rows, 50);
  Request f;
  f.op = "forward";
  f.host = "c1";
  f.port = 8765;
  Request fd = decode_request(encode_request(f));
  EXPECT_EQ(fd.host, "c1");
  EXPECT_EQ(fd.port, 8765);
}

TEST(MuxRequests, AnotherProtocolVersionIsRefusedWithARestartHint) {
  try {
    decode_request(R"({"v":2,"op":"exec"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::protocol);
    EXPECT_NE(e.hint().find("tccp-connect stop"), std::string::npos);
  }
  EXPECT_THROW(decode_request("not json"), Error);
}

TEST(MuxReplies, ExitAndFailureRoundTrip) {
  Exit e = decode_exit(encode_exit(Exit{143, std::string("TERM")}));
  EXPECT_EQ(e.exit_code, 143);
  EXPECT_EQ(e.signal, "TERM");
  EXPECT_FALSE(decode_exit(encode_exit(Exit{0, std::nullopt})).signal.has_value());
  Error err = decode_failure(encode_failure(Error(ExitCode::unreachable, "lost", "retry")));
  EXPECT_EQ(err.code(), ExitCode::unreachable);
  EXPECT_STREQ(err.what(), "lost");
  EXPECT_EQ(err.hint(), "retry");
}

TEST(MuxSignals, NamesWithoutSigPrefixMapToNumbers) {
  EXPECT_EQ(signal_number("TERM"), SIGTERM);
  EXPECT_EQ(signal_number("SIGKILL"), SIGKILL);
  EXPECT_EQ(signal_number("SEGV"), SIGSEGV);
  EXPECT_EQ(signal_number("NOPE"), 0);
}
