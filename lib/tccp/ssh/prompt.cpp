#include "tccp/ssh/prompt.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <termios.h>
#include <unistd.h>

#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    wipe();
    m_value = other.m_value;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    m_value = std::move(other.m_value);
    other.wipe();
  }
  return *this;
}

void Secret::wipe() noexcept {
  if (!m_value.empty()) {
    ::explicit_bzero(m_value.data(), m_value.size());
  }
  m_value.clear();
}

namespace {

// While a no-echo prompt is on screen, a signal must not leave the terminal
// without echo: the handler restores it and re-raises the signal.
int g_tty_fd = -1;
termios g_saved{};
constexpr int restored_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};

void restore_and_reraise(int sig) {
  if (g_tty_fd >= 0) {
    ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved);
    static constexpr char nl = '\n';
    (void)!::write(g_tty_fd, &nl, 1);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

bool force_askpass() {
  for (const char* var : {"TCCP_ASKPASS_REQUIRE", "SSH_ASKPASS_REQUIRE"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && std::string_view(v) == "force") {
      return true;
    }
  }
  return false;
}

class TerminalPrompter : public Prompter {
public:
  explicit TerminalPrompter(int fd) : m_fd(fd) {}
  ~TerminalPrompter() override { ::close(m_fd); }
  TerminalPrompter(const TerminalPrompter&) = delete;
  TerminalPrompter& operator=(const TerminalPrompter&) = delete;

  std::optional<Secret> ask(const std::string& prompt, Echo echo) override {
    // Echo goes off before the prompt shows: an answer typed the moment
    // the prompt appears must neither be echoed nor flushed away.
    termios saved{};
    bool changed = false;
    struct sigaction old_actions[std::size(restored_signals)];
    if (echo == Echo::off && ::tcgetattr(m_fd, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
      g_saved = saved;
      g_tty_fd = m_fd;
      struct sigaction sa {};
      sa.sa_handler = restore_and_reraise;
      ::sigemptyset(&sa.sa_mask);
      for (std::size_t i = 0; i < std::size(restored_signals); ++i) {
        ::sigaction(restored_signals[i], &sa, &old_actions[i]);
      }
      changed = ::tcsetattr(m_fd, TCSAFLUSH, &quiet) == 0;
    }
    write_all(prompt);
    std::string line;
    bool got_newline = false;
    char c = 0;
    while (true) {
      ssize_t r = ::read(m_fd, &c, 1);
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0) {
        break;
      }
      if (c == '\n' || c == '\r') {
        got_newline = true;
        break;
      }
      line.push_back(c);
    }
    if (echo == Echo::off && g_tty_fd == m_fd) {
      if (changed) {
        ::tcsetattr(m_fd, TCSANOW, &saved);
      }
      g_tty_fd = -1;
      for (std::size_t i = 0; i < std::size(restored_signals); ++i) {
        ::sigaction(restored_signals[i], &old_actions[i], nullptr);
      }
      write_all("\n");
    }
    Secret answer(std::move(line));
    if (!got_newline && answer.empty()) {
      return std::nullopt; // end of input: nobody answers
    }
    return answer;
  }

  bool confirm(const std::string& question) override {
    auto answer = ask(question, Echo::on);
    return answer && util::to_lower(util::trim(answer->value())) == "yes";
  }

  void show(const std::string& text) override {
    write_all(text);
    if (!text.empty() && text.back() != '\n') {
      write_all("\n");
    }
  }

  bool on_terminal() const override { return true; }
  bool can_ask() const override { return true; }
  std::string describe() const override { return "the terminal"; }

private:
  void write_all(std::string_view s) const {
    while (!s.empty()) {
      ssize_t w = ::write(m_fd, s.data(), s.size());
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        return;
      }
      s.remove_prefix(static_cast<std::size_t>(w));
    }
  }
  int m_fd;
};

class AskpassPrompter : public Prompter {
public:
  explicit AskpassPrompter(std::string program) : m_program(std::move(program)) {}

  std::optional<Secret> ask(const std::string& prompt, Echo /*echo*/) override {
    return run_askpass(m_program, prompt);
  }
  bool confirm(const std::string& /*question*/) override { return false; }
  void show(const std::string& text) override {
    std::cerr << text;
    if (!text.empty() && text.back() != '\n') {
      std::cerr << '\n';
    }
  }
  bool on_terminal() const override { return false; }
  bool can_ask() const override { return true; }
  std::string describe() const override { return "the askpass program " + m_program; }

private:
  std::string m_program;
};

class NoPrompter : public Prompter {
public:
  explicit NoPrompter(std::string why) : m_why(std::move(why)) {}
  std::optional<Secret> ask(const std::string& /*prompt*/, Echo /*echo*/) override {
    return std::nullopt;
  }
  bool confirm(const std::string& /*question*/) override { return false; }
  void show(const std::string& text) override {
    std::cerr << text;
    if (!text.empty() && text.back() != '\n') {
      std::cerr << '\n';
    }
  }
  bool on_terminal() const override { return false; }
  bool can_ask() const override { return false; }
  std::string describe() const override { return m_why; }

private:
  std::string m_why;
};

} // namespace

std::optional<std::string> find_askpass(const std::optional<std::string>& configured) {
  if (configured && !configured->empty()) {
    return configured;
  }
  for (const char* var : {"TCCP_ASKPASS", "SSH_ASKPASS"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') {
      return std::string(v);
    }
  }
  return std::nullopt;
}

std::optional<Secret> run_askpass(const std::string& program, const std::string& prompt) {
  util::ProcessOptions opts;
  opts.capture_stdout = true;
  opts.capture_stderr = false;
  opts.timeout = std::chrono::minutes(5);
  util::ProcessResult r;
  try {
    r = util::run_process({program, prompt}, opts);
  } catch (const std::exception& e) {
    std::cerr << "cannot run askpass program '" << program << "': " << e.what() << '\n';
    return std::nullopt;
  }
  Secret answer(std::move(r.out));
  if (r.exit_code != 0) {
    return std::nullopt;
  }
  std::string v = answer.value();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) {
    v.pop_back();
  }
  Secret trimmed(std::move(v));
  return trimmed;
}

std::unique_ptr<Prompter> make_prompter(const PromptOptions& options) {
  if (options.batch) {
    return std::make_unique<NoPrompter>("nothing (BatchMode)");
  }
  auto askpass = find_askpass(options.askpass);
  if (askpass && force_askpass()) {
    return std::make_unique<AskpassPrompter>(*askpass);
  }
  if (options.allow_terminal) {
    int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
      return std::make_unique<TerminalPrompter>(fd);
    }
  }
  if (askpass) {
    return std::make_unique<AskpassPrompter>(*askpass);
  }
  return std::make_unique<NoPrompter>("nothing (no terminal and no askpass program)");
}

} // namespace tccp::ssh
