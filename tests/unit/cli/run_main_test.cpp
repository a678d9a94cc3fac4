// cli::run_main: the frame every tool shares (exit codes, the one catch,
// error envelopes, pass-through of an upstream error).
#include <sstream>

#include <gtest/gtest.h>

#include "tccp/cli/app.hpp"

using namespace tccp;

namespace {
struct Result {
  int code;
  std::string out;
  std::string err;
};

// Runs run_main with `args` and a tool whose only command `go` runs `action`.
Result run(std::vector<std::string> args, const cli::Action& action) {
  args.insert(args.begin(), "tccp-test");
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = cli::run_main(
      "tccp-test", "A test tool", static_cast<int>(argv.size()), argv.data(),
      [&](CLI::App& app, cli::Common&) { cli::add_command(app, "go", "Run the action", action); });
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  return {code, out, err};
}

const std::string upstream_error =
    R"({"tccp":"1.0","type":"error","data":{"code":"config","exit_code":3,)"
    R"("message":"tccp.yaml:2:1: banana: unknown field","hint":null,"tool":"tccp-config"},)"
    R"("warnings":[]})";
} // namespace

TEST(RunMain, UpstreamErrorIsReEmittedUnchangedWithItsExitCode) {
  Result r = run({"go"}, [](cli::Context&) {
    std::istringstream stdin_text(upstream_error + "\n");
    proto::read_input(stdin_text, "job");
    return 0;
  });
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, upstream_error + "\n");
  EXPECT_EQ(r.err, ""); // the root cause was already reported upstream
}

TEST(RunMain, NewerMajorVersionOnStdinExitsFour) {
  Result r = run({"go"}, [](cli::Context&) {
    std::istringstream stdin_text(R"({"tccp":"2.0","type":"job","data":{}})");
    proto::read_input(stdin_text, "job");
    return 0;
  });
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "tccp-test: error: input is a tccp 2.0 document, this tccp reads version 1.x\n"
                   "hint: upgrade tccp, or use the same tccp version for every tool in the pipe\n");
}

TEST(RunMain, ErrorPrintsMessageHintAndAnErrorEnvelope) {
  Result r = run({"go"}, [](cli::Context&) -> int {
    throw Error(ExitCode::refused, "sbatch refused the job", "ask for less memory");
  });
  EXPECT_EQ(r.code, 7);
  EXPECT_EQ(r.err, "tccp-test: error: sbatch refused the job\nhint: ask for less memory\n");
  // stdout is not a terminal here, so the error is also a document.
  EXPECT_EQ(r.out, R"({"tccp":"1.0","type":"error","data":{"code":"refused","exit_code":7,)"
                   R"("message":"sbatch refused the job","hint":"ask for less memory",)"
                   R"("tool":"tccp-test"},"warnings":[]})"
                   "\n");
}

TEST(RunMain, ActionStatusIsTheExitStatus) {
  EXPECT_EQ(run({"go"}, [](cli::Context&) { return 0; }).code, 0);
  EXPECT_EQ(run({"go"}, [](cli::Context&) { return 1; }).code, 1);
}

TEST(RunMain, UnknownFlagIsAUsageError) {
  Result r = run({"go", "--frobnicate"}, [](cli::Context&) { return 0; });
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("tccp-test: error: "), std::string::npos);
  EXPECT_NE(r.err.find("hint: see 'tccp-test --help'"), std::string::npos);
}

TEST(RunMain, OtherExceptionsAreInternalErrors) {
  Result r = run({"go"}, [](cli::Context&) -> int { throw std::runtime_error("oops"); });
  EXPECT_EQ(r.code, 70);
  EXPECT_EQ(r.err, "tccp-test: error: internal error: oops\n");
}

TEST(RunMain, VersionAndDescribe) {
  Result v = run({"--version"}, [](cli::Context&) { return 0; });
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, std::string("tccp-test ") + TCCP_VERSION + "\n");
  Result d = run({"--describe"}, [](cli::Context&) { return 0; });
  EXPECT_EQ(d.code, 0);
  auto j = proto::Json::parse(d.out);
  EXPECT_EQ(j["name"], "tccp-test");
  EXPECT_EQ(j["commands"][0]["name"], "go");
  EXPECT_EQ(j["commands"][0]["summary"], "Run the action");
}
