#pragma once
/// Asking the user: passphrases, passwords, MFA codes and host-key
/// questions. Answers come from the terminal (/dev/tty, without echo for
/// secrets) or, without a terminal, from an askpass program run with the
/// prompt as its only argument. A secret is never taken from argv or an
/// environment variable.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tccp::ssh {

/// A string that wipes its bytes when destroyed.
class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}
  Secret(const Secret& other) = default;
  Secret(Secret&& other) noexcept : m_value(std::move(other.m_value)) { other.wipe(); }
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret() { wipe(); }

  const std::string& value() const { return m_value; }
  bool empty() const { return m_value.empty(); }

private:
  void wipe() noexcept;
  std::string m_value;
};

enum class Echo { off, on };

/// Where prompts go. Implementations: the terminal, an askpass program, or
/// nothing (batch mode).
class Prompter {
public:
  virtual ~Prompter() = default;

  /// Asks `prompt` and returns the answer without its newline; nullopt when
  /// nobody can answer (no terminal and no askpass, or askpass failed).
  virtual std::optional<Secret> ask(const std::string& prompt, Echo echo) = 0;

  /// Asks a yes/no question on the terminal (only there); true when the
  /// user typed "yes". Without a terminal: false.
  virtual bool confirm(const std::string& question) = 0;

  /// Shows text (a server's instructions, a host key fingerprint) to the
  /// person answering: on the terminal, else on stderr.
  virtual void show(const std::string& text) = 0;

  /// True when a person at a terminal answers (not askpass).
  virtual bool on_terminal() const = 0;

  /// True when ask() can get an answer at all.
  virtual bool can_ask() const = 0;

  /// A short note for error messages: "terminal", "askpass program X", "none".
  virtual std::string describe() const = 0;
};

struct PromptOptions {
  std::optional<std::string> askpass; ///< profile's askpass (before TCCP_ASKPASS, SSH_ASKPASS)
  bool batch = false;                 ///< never ask anything (ssh_config BatchMode)
  bool allow_terminal = true;         ///< false: ignore /dev/tty (daemons)
};

/// The prompter for this process: /dev/tty when it can be opened (unless
/// TCCP_ASKPASS_REQUIRE or SSH_ASKPASS_REQUIRE is "force" and an askpass
/// program is known), else the askpass program (profile `askpass`, then
/// $TCCP_ASKPASS, then $SSH_ASKPASS), else nothing.
std::unique_ptr<Prompter> make_prompter(const PromptOptions& options);

/// The askpass program that make_prompter would use, if any.
std::optional<std::string> find_askpass(const std::optional<std::string>& configured);

/// Runs `program prompt` and returns its stdout without the trailing
/// newline; nullopt when it fails or exits non-zero.
std::optional<Secret> run_askpass(const std::string& program, const std::string& prompt);

} // namespace tccp::ssh
