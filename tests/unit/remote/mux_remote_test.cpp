#include <gtest/gtest.h>

#include <functional>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "tccp/remote/mux_remote.hpp"
#include "tccp/ssh/mux_protocol.hpp"

using namespace tccp;
using namespace tccp::remote;
namespace mux = tccp::ssh::mux;

namespace {

// A scripted mux server on the other end of a socketpair: it reads the
// request and the client's frames, and answers as `script` says.
struct FakeServer {
  std::thread thread;
  int server_fd = -1;
  mux::Request request;
  std::string stdin_seen;
  bool saw_eof = false;

  std::function<int()> dialer(std::function<void(FakeServer&, int)> script) {
    return [this, script]() {
      int sv[2];
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
      server_fd = sv[1];
      thread = std::thread([this, script] {
        std::string line = mux::read_line(server_fd, std::chrono::seconds(5));
        request = mux::decode_request(line);
        script(*this, server_fd);
        ::close(server_fd);
      });
      return sv[0];
    };
  }

  // Reads frames until stdin EOF.
  void read_stdin(int fd) {
    std::string buf;
    char tmp[4096];
    while (!saw_eof) {
      ssize_t r = ::read(fd, tmp, sizeof tmp);
      if (r <= 0) {
        return;
      }
      buf.append(tmp, static_cast<std::size_t>(r));
      mux::FrameType t{};
      std::string_view p;
      std::size_t used = 0;
      while ((used = mux::parse_frame(buf, t, p)) > 0) {
        if (t == mux::FrameType::stdin_data) {
          stdin_seen.append(p);
        } else if (t == mux::FrameType::stdin_eof) {
          saw_eof = true;
        }
        buf.erase(0, used);
      }
    }
  }

  static void send(int fd, mux::FrameType t, std::string_view payload) {
    std::string out;
    mux::append_frame(out, t, payload);
    mux::write_all(fd, out, std::chrono::seconds(5));
  }

  ~FakeServer() {
    if (thread.joinable()) {
      thread.join();
    }
  }
};

} // namespace

TEST(MuxRemote, RunSendsStdinAndCollectsOutputAndStatus) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer& s, int fd) {
    s.read_stdin(fd);
    FakeServer::send(fd, mux::FrameType::stdout_data, "got:" + s.stdin_seen);
    FakeServer::send(fd, mux::FrameType::stderr_data, "warn\n");
    FakeServer::send(fd, mux::FrameType::exit, mux::encode_exit({3, {}}));
  }),
                   "fake");
  ExecResult r = remote.run("cat", "input bytes");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "got:input bytes");
  EXPECT_EQ(r.err, "warn\n");
  EXPECT_EQ(server.request.op, "exec");
  EXPECT_EQ(server.request.command, "cat");
  EXPECT_FALSE(server.request.pty);
}

TEST(MuxRemote, SignalDeathIsReportedWithItsName) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer& s, int fd) {
    s.read_stdin(fd);
    FakeServer::send(fd, mux::FrameType::exit, mux::encode_exit({143, std::string("TERM")}));
  }),
                   "fake");
  ExecResult r = remote.run("sleep 100");
  EXPECT_EQ(r.exit_code, 143);
  EXPECT_EQ(r.signal, "TERM");
}

TEST(MuxRemote, AFailureFrameBecomesTheSameError) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer& s, int fd) {
    s.read_stdin(fd);
    FakeServer::send(
        fd, mux::FrameType::failure,
        mux::encode_failure(Error(ExitCode::unreachable, "lost the connection", "again")));
  }),
                   "fake");
  try {
    remote.run("true");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::unreachable);
    EXPECT_STREQ(e.what(), "lost the connection");
    EXPECT_EQ(e.hint(), "again");
  }
}

TEST(MuxRemote, AServerThatVanishesIsUnreachableNotSuccess) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer& s, int fd) { s.read_stdin(fd); }), "fake");
  try {
    remote.run("true");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::unreachable);
  }
}

TEST(MuxRemote, IdleTimeoutEndsASilentCommand) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer& s, int fd) {
    s.read_stdin(fd);
    char c = 0;
    (void)::read(fd, &c, 1); // until the client gives up
  }),
                   "fake");
  ExecOptions opts;
  opts.idle_timeout = std::chrono::milliseconds(200);
  try {
    remote.run("sleep 100", {}, opts);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::unreachable);
    EXPECT_NE(std::string(e.what()).find("no answer"), std::string::npos);
  }
}

TEST(MuxRemote, LargeStdinFlowsWhileOutputIsRead) {
  // The server echoes as it reads: a writer that did not read output
  // would deadlock once both socket buffers fill.
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer& s, int fd) {
    std::string buf;
    char tmp[65536];
    while (!s.saw_eof) {
      ssize_t r = ::read(fd, tmp, sizeof tmp);
      if (r <= 0) {
        return;
      }
      buf.append(tmp, static_cast<std::size_t>(r));
      mux::FrameType t{};
      std::string_view p;
      std::size_t used = 0;
      while ((used = mux::parse_frame(buf, t, p)) > 0) {
        if (t == mux::FrameType::stdin_data) {
          FakeServer::send(fd, mux::FrameType::stdout_data, p);
        } else if (t == mux::FrameType::stdin_eof) {
          s.saw_eof = true;
        }
        buf.erase(0, used);
      }
    }
    FakeServer::send(fd, mux::FrameType::exit, mux::encode_exit({0, {}}));
  }),
                   "fake");
  std::string chunk(1 << 20, 'x');
  std::size_t echoed = 0;
  ExecResult r = remote.stream(
      "cat",
      [&](const StdinWriter& w) {
        for (int i = 0; i < 16; ++i) {
          w(chunk);
        }
      },
      [&](std::string_view d) { echoed += d.size(); }, [](std::string_view) {});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(echoed, 16U << 20);
}

TEST(MuxRemote, ForwardReturnsARawStreamAfterTheServerSaysOk) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer&, int fd) {
    mux::write_all(fd, mux::encode_ok() + "\n", std::chrono::seconds(5));
    char buf[64];
    ssize_t r = ::read(fd, buf, sizeof buf);
    mux::write_all(fd, std::string_view(buf, static_cast<std::size_t>(r)), std::chrono::seconds(5));
  }),
                   "fake");
  int fd = remote.forward("c1", 8765);
  EXPECT_EQ(server.request.host, "c1");
  EXPECT_EQ(server.request.port, 8765);
  ASSERT_EQ(::write(fd, "ping", 4), 4);
  char buf[8] = {};
  ASSERT_EQ(::read(fd, buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  ::close(fd);
}

TEST(MuxRemote, ForwardRefusalIsAnError) {
  FakeServer server;
  MuxRemote remote(server.dialer([](FakeServer&, int fd) {
    mux::write_all(
        fd, mux::encode_failure(Error(ExitCode::unreachable, "cannot connect to c1:1")) + "\n",
        std::chrono::seconds(5));
  }),
                   "fake");
  try {
    remote.forward("c1", 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::unreachable);
  }
}
