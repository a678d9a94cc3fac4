#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sys/stat.h>

#include "tccp/ssh/prompt.hpp"
#include "tccp/util/fs.hpp"

using namespace tccp;
using namespace tccp::ssh;

namespace {
std::string write_script(const util::TempDir& dir, const std::string& body) {
  auto path = dir.path() / "askpass.sh";
  std::ofstream(path) << "#!/bin/sh\n" << body;
  ::chmod(path.c_str(), 0700);
  return path.string();
}

struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  EnvGuard(std::string n, const char* value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) {
      old = v;
    }
    if (value != nullptr) {
      ::setenv(name.c_str(), value, 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  ~EnvGuard() {
    if (old) {
      ::setenv(name.c_str(), old->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
};
} // namespace

TEST(Askpass, GetsThePromptAsItsArgumentAndAnswersOnStdout) {
  util::TempDir dir;
  auto prog = write_script(dir, "case \"$1\" in *Password*) echo 's3cret';; "
                                "*code*) printf '123456\\n';; *) exit 1;; esac\n");
  EXPECT_EQ(run_askpass(prog, "Password: ")->value(), "s3cret");
  EXPECT_EQ(run_askpass(prog, "Verification code: ")->value(), "123456");
  EXPECT_FALSE(run_askpass(prog, "Something else").has_value());
  EXPECT_FALSE(run_askpass((dir.path() / "missing").string(), "Password: ").has_value());
}

TEST(Askpass, ProfileSettingComesBeforeTheEnvironment) {
  EnvGuard a("TCCP_ASKPASS", "/from/tccp_askpass");
  EnvGuard b("SSH_ASKPASS", "/from/ssh_askpass");
  EXPECT_EQ(find_askpass(std::string("/from/profile")), "/from/profile");
  EXPECT_EQ(find_askpass(std::nullopt), "/from/tccp_askpass");
  EnvGuard c("TCCP_ASKPASS", nullptr);
  EXPECT_EQ(find_askpass(std::nullopt), "/from/ssh_askpass");
}

TEST(MakePrompter, WithoutATerminalTheAskpassProgramAnswers) {
  util::TempDir dir;
  auto prog = write_script(dir, "echo answer\n");
  EnvGuard a("TCCP_ASKPASS", prog.c_str());
  PromptOptions po;
  po.allow_terminal = false;
  auto p = make_prompter(po);
  EXPECT_FALSE(p->on_terminal());
  EXPECT_TRUE(p->can_ask());
  EXPECT_EQ(p->ask("Password: ", Echo::off)->value(), "answer");
  EXPECT_FALSE(p->confirm("Are you sure (yes/no)? ")); // host keys need a person
}

TEST(MakePrompter, BatchModeAndNoAskpassCannotAsk) {
  EnvGuard a("TCCP_ASKPASS", nullptr);
  EnvGuard b("SSH_ASKPASS", nullptr);
  PromptOptions po;
  po.allow_terminal = false;
  auto p = make_prompter(po);
  EXPECT_FALSE(p->can_ask());
  EXPECT_FALSE(p->ask("Password: ", Echo::off).has_value());
  po.batch = true;
  po.askpass = "/bin/echo";
  EXPECT_FALSE(make_prompter(po)->can_ask());
}

TEST(SecretValue, MovesLeaveNothingBehind) {
  Secret a(std::string("value"));
  Secret b(std::move(a));
  EXPECT_EQ(b.value(), "value");
  EXPECT_TRUE(a.empty()); // NOLINT(bugprone-use-after-move): wiped on purpose
}
