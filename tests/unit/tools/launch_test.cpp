#include <gtest/gtest.h>

#include "tccp/tools/launch_tool.hpp"
#include "tccp/util/strings.hpp"

using namespace tccp;
using namespace tccp::tools;

namespace {
proto::Json enriched() {
  return {{"project", "demo"},
          {"job", "train"},
          {"type", "python-pytorch"},
          {"script", "train.py"},
          {"package", nullptr},
          {"args", {"--name", "my run", "--x", "a $b 'c'"}},
          {"env_file", ".env"},
          {"output", "output"},
          {"cache", "cache"},
          {"environment", {{"WANDB_PROJECT", "it's $HOME"}, {"N", "1"}}},
          {"resources", {{"time_limit_s", 5400}}},
          {"cluster",
           {{"python", "/usr/bin/python3"},
            {"pip_index", "http://login:8080/simple/"},
            {"system_site_packages", true},
            {"runtime", "none"}}},
          {"allocation", {{"id", "41"}, {"node", "c1"}}},
          {"sync", {{"tree_digest", "abc123"}}}};
}
} // namespace

TEST(ProgramArgs, ConfiguredThenExtra) {
  EXPECT_EQ(program_args(enriched(), {"--lr", "0.1"}),
            (std::vector<std::string>{"--name", "my run", "--x", "a $b 'c'", "--lr", "0.1"}));
  proto::Json d = {{"args", "--epochs 100 --lr '3e-4 x'"}};
  EXPECT_EQ(program_args(d, {}), (std::vector<std::string>{"--epochs", "100", "--lr", "3e-4 x"}));
}

TEST(RunSpec, EvaluatesUnderDashToTheExactValues) {
  auto spec = build_run_spec(enriched(), "train-20261203T142234Z-ab12", {"extra arg", "$PATH"});
  // Evaluate it the way the helper does and print every value back.
  std::string script = spec +
                       "eval \"set -- $spec_args\"\n"
                       "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n"
                       "tccp_export_environment\n"
                       "printf '%s|%s|%s|%s|%s|%s|%s\\n' \"$spec_alloc\" \"$spec_node\" "
                       "\"$spec_time_limit\" \"$spec_time_limit_s\" \"$spec_code_digest\" "
                       "\"$WANDB_PROJECT\" \"$N\"\n"
                       "printf '%s|%s|%s\\n' \"$spec_pip_index\" \"$spec_system_site_packages\" "
                       "\"$spec_extra_args\"\n";
  remote::LocalRemote local;
  auto r = local.run("sh -c " + util::shell_quote(script));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[--name]\n[my run]\n[--x]\n[a $b 'c']\n[extra arg]\n[$PATH]\n"
                   "41|c1|01:30:00|5400|abc123|it's $HOME|1\n"
                   "http://login:8080/simple/|true|'extra arg' '$PATH'\n");
}

TEST(RunSpec, AnAllocationTakenOnTrustIsCheckedByTheHelper) {
  auto check = [](const proto::Json& d) {
    remote::LocalRemote local;
    auto r = local.run("sh -c " + util::shell_quote(build_run_spec(d, "r", {}) +
                                                    "printf '[%s]' \"$spec_alloc_check\""));
    return r.out;
  };
  auto d = enriched();
  EXPECT_EQ(check(d), "[]");
  d["allocation"]["verified"] = true;
  EXPECT_EQ(check(d), "[]");
  d["allocation"]["verified"] = false;
  EXPECT_EQ(check(d), "[1]");
}

TEST(RunSpec, NeedsAnAllocation) {
  auto d = enriched();
  d.erase("allocation");
  try {
    build_run_spec(d, "x", {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::protocol);
  }
}

TEST(RunSpec, RefusesAnEnvironmentNameTheShellCannotExport) {
  auto d = enriched();
  d["environment"] = {{"BAD-NAME", "x"}};
  try {
    build_run_spec(d, "x", {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
  }
}
