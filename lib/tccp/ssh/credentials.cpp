#include "tccp/ssh/credentials.hpp"

#include <cstdlib>
#include <cstring>

#include "tccp/core/error.hpp"
#include "tccp/ssh/known_hosts.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

namespace {

constexpr const char* keyring_service = "tccp";

struct Line {
  std::string account;
  std::string encoded;
};

std::vector<Line> read_lines(const std::filesystem::path& file) {
  std::vector<Line> out;
  std::optional<std::string> text;
  try {
    text = util::read_file_if_exists(file);
  } catch (const std::exception& e) {
    throw Error(ExitCode::config, "cannot read '" + file.string() + "': " + e.what());
  }
  if (!text) {
    return out;
  }
  for (const auto& raw : util::split(*text, '\n')) {
    auto tab = raw.find('\t');
    if (tab == std::string::npos) {
      continue;
    }
    out.push_back(Line{raw.substr(0, tab), raw.substr(tab + 1)});
  }
  Secret wipe_me(std::move(*text));
  return out;
}

void write_lines(const std::filesystem::path& dir, const std::filesystem::path& file,
                 const std::vector<Line>& lines) {
  std::string text;
  for (const auto& l : lines) {
    text += l.account + "\t" + l.encoded + "\n";
  }
  Secret wipe_me(text);
  try {
    util::ensure_private_dir(dir);
    util::atomic_write_file(file, text, 0600);
  } catch (const std::exception& e) {
    throw Error(ExitCode::config, "cannot write '" + file.string() + "': " + e.what());
  }
  ::explicit_bzero(text.data(), text.size());
}

} // namespace

CredentialStore::CredentialStore(std::filesystem::path state_dir)
    : m_dir(std::move(state_dir)), m_file(m_dir / "credentials") {}

bool CredentialStore::keyring_available() {
  const char* bus = std::getenv("DBUS_SESSION_BUS_ADDRESS");
  return bus != nullptr && *bus != '\0' && util::find_in_path("secret-tool").has_value();
}

std::optional<Secret> CredentialStore::load_password(const std::string& account) const {
  if (keyring_available()) {
    util::ProcessOptions opts;
    opts.timeout = std::chrono::seconds(10);
    try {
      auto r = util::run_process(
          {"secret-tool", "lookup", "service", keyring_service, "account", account}, opts);
      Secret value(std::move(r.out));
      if (r.exit_code == 0 && !value.empty()) {
        return value;
      }
    } catch (const std::exception&) {
      // The keyring is optional: fall through to the file.
    }
  }
  for (auto& l : read_lines(m_file)) {
    if (l.account == account) {
      auto decoded = base64_decode(l.encoded);
      Secret wipe_me(std::move(l.encoded));
      if (decoded) {
        return Secret(std::move(*decoded));
      }
    }
  }
  return std::nullopt;
}

StoredWhere CredentialStore::store_password(const std::string& account,
                                            const Secret& password) const {
  if (keyring_available()) {
    util::ProcessOptions opts;
    opts.timeout = std::chrono::seconds(30);
    opts.stdin_data = password.value();
    try {
      auto r = util::run_process({"secret-tool", "store", "--label=tccp: " + account, "service",
                                  keyring_service, "account", account},
                                 opts);
      Secret wipe_me(std::move(*opts.stdin_data));
      if (r.exit_code == 0) {
        auto lines = read_lines(m_file);
        std::erase_if(lines, [&](const Line& l) { return l.account == account; });
        if (std::filesystem::exists(m_file)) {
          write_lines(m_dir, m_file, lines);
        }
        return StoredWhere{CredentialBackend::keyring, "the desktop keyring"};
      }
    } catch (const std::exception&) {
      // fall back to the file below
    }
  }
  auto lines = read_lines(m_file);
  std::erase_if(lines, [&](const Line& l) { return l.account == account; });
  lines.push_back(Line{account, base64_encode(password.value())});
  write_lines(m_dir, m_file, lines);
  return StoredWhere{CredentialBackend::file, m_file.string()};
}

void CredentialStore::erase_password(const std::string& account) const {
  if (keyring_available()) {
    util::ProcessOptions opts;
    opts.timeout = std::chrono::seconds(10);
    try {
      util::run_process({"secret-tool", "clear", "service", keyring_service, "account", account},
                        opts);
    } catch (const std::exception&) {
      // nothing stored there
    }
  }
  auto lines = read_lines(m_file);
  auto before = lines.size();
  std::erase_if(lines, [&](const Line& l) { return l.account == account; });
  if (lines.size() != before) {
    write_lines(m_dir, m_file, lines);
  }
}

} // namespace tccp::ssh
