#include <gtest/gtest.h>

#include <sys/stat.h>

#include "tccp/core/error.hpp"
#include "tccp/generated/remote_helper.hpp"
#include "tccp/remote/helper.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

using namespace tccp;
using namespace tccp::remote;

namespace {
// Counts the commands that reach the cluster (round trips); LocalRemote's
// run() goes through stream().
class CountingRemote : public LocalRemote {
public:
  int calls = 0;
  ExecResult stream(const std::string& command, const Producer& producer, const Sink& out,
                    const Sink& err, const ExecOptions& options) override {
    ++calls;
    return LocalRemote::stream(command, producer, out, err, options);
  }
};
} // namespace

TEST(HelperWords, TildeStaysForTheRemoteShellEverythingElseIsQuoted) {
  EXPECT_EQ(remote_path_word("~"), "\"$HOME\"");
  EXPECT_EQ(remote_path_word("~/.tccp"), "\"$HOME\"/" + util::shell_quote(".tccp"));
  EXPECT_EQ(remote_path_word("/scratch/my dir/$x"), "'/scratch/my dir/$x'");
  // What the remote shell makes of the words.
  std::string words = remote_path_word("~/a b") + " " + remote_path_word("/x/$y");
  auto r = util::run_process({"sh", "-c", "HOME=/h; printf '%s\\n' " + words});
  EXPECT_EQ(r.out, "/h/a b\n/x/$y\n");
}

TEST(HelperWords, CommandTestsForTheHelperThenExecsItWithQuotedArguments) {
  std::string cmd = helper_command("~/.tccp", "ping", {"a b", "it's"});
  std::string h =
      remote_path_word("~/.tccp/bin/tccp-remote-" + std::string(generated::remote_helper_hash));
  EXPECT_EQ(cmd, "test -x " + h + " || exit 213; exec " + h + " " + remote_path_word("~/.tccp") +
                     " ping 'a b' 'it'\\''s'");
}

TEST(CallHelper, InstallsOnFirstUseThenCallsInOneRoundTrip) {
  util::TempDir dir;
  std::string root = (dir.path() / "root with space").string();
  CountingRemote remote;
  ExecResult first = call_helper(remote, root, "ping", {});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out.rfind("pong", 0), 0U);
  EXPECT_EQ(remote.calls, 3); // try, install, retry
  auto installed = std::filesystem::path(root) / "bin" /
                   ("tccp-remote-" + std::string(generated::remote_helper_hash));
  struct stat st {};
  ASSERT_EQ(::stat(installed.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
  EXPECT_EQ(util::read_file(installed), generated::remote_helper_script);

  remote.calls = 0;
  ExecResult again = call_helper(remote, root, "ping", {});
  EXPECT_EQ(again.out, first.out);
  EXPECT_EQ(remote.calls, 1);
}

TEST(CallHelper, HelperErrorsAreReturnedNotMistakenForAMissingHelper) {
  util::TempDir dir;
  CountingRemote remote;
  ExecResult r = call_helper(remote, dir.path().string(), "no_such_command", {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'no_such_command'"), std::string::npos);
}

TEST(CallHelperStream, RerunsTheProducerAfterInstalling) {
  util::TempDir dir;
  CountingRemote remote;
  int produced = 0;
  std::string out;
  ExecResult r = call_helper_stream(
      remote, dir.path().string(), "ping", {},
      [&](const StdinWriter& w) {
        ++produced;
        w("ignored input");
      },
      [&](std::string_view d) { out.append(d); }, [](std::string_view) {});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(out.rfind("pong", 0), 0U);
  EXPECT_EQ(produced, 2);
}

TEST(InstallHelper, AnUnwritableRootIsRefusedInWords) {
  CountingRemote remote;
  try {
    install_helper(remote, "/proc/tccp-cannot-write-here");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_NE(std::string(e.what()).find("cannot install the tccp helper"), std::string::npos);
  }
}
