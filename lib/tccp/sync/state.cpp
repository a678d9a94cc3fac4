#include "tccp/sync/state.hpp"

#include <cstdlib>
#include <system_error>

#include "tccp/core/error.hpp"
#include "tccp/sync/hash.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view state_header = "tccp-sync-state 1\n";

std::string safe_component(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out.front() == '.') {
    out.insert(out.begin(), '_');
  }
  return out.substr(0, 64);
}
} // namespace

fs::path tccp_home() {
  const char* env = std::getenv("TCCP_HOME");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  return util::home_dir() / ".tccp";
}

fs::path project_state_dir(const std::string& project, const fs::path& project_dir) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(project_dir, ec);
  if (ec) {
    canonical = fs::absolute(project_dir);
  }
  fs::path home = tccp_home();
  util::ensure_private_dir(home);
  util::ensure_private_dir(home / "sync");
  fs::path dir = home / "sync" /
                 (safe_component(project) + "-" + sha256_hex(canonical.string()).substr(0, 12));
  util::ensure_private_dir(dir);
  return dir;
}

std::string cluster_key(const std::string& host, const std::string& user, int port,
                        const std::string& remote_root) {
  std::string id = user + "@" + host + ":" + std::to_string(port) + ":" + remote_root;
  return safe_component(host) + "-" + sha256_hex(id).substr(0, 12);
}

void set_aside_remote_state(const fs::path& file) {
  std::error_code ec;
  fs::rename(file, file.string() + ".corrupt", ec);
}

std::optional<RemoteState> read_remote_state_head(util::LineReader& in) {
  std::string_view line;
  bool terminated = false;
  if (!in.next(&line, &terminated) || !terminated ||
      line != state_header.substr(0, state_header.size() - 1)) {
    return std::nullopt;
  }
  RemoteState st;
  for (std::string_view key : {"digest ", "allocation "}) {
    if (!in.next(&line, &terminated) || !terminated || !util::starts_with(line, key)) {
      return std::nullopt;
    }
    (key == "digest " ? st.digest : st.allocation_id) = line.substr(key.size());
  }
  return st;
}

std::optional<RemoteState> load_remote_state(const fs::path& file, bool* corrupt_out) {
  util::LineReader in(file);
  if (!in.is_open()) {
    return std::nullopt;
  }
  auto st = read_remote_state_head(in);
  if (!st) {
    set_aside_remote_state(file);
    if (corrupt_out != nullptr) {
      *corrupt_out = true;
    }
  }
  return st;
}

namespace {
// The digest is written last, in its place in the head.
constexpr std::string_view digest_key = "digest ";
constexpr std::size_t digest_size = 64;
} // namespace

StateDraft::StateDraft(fs::path file, const std::string& allocation_id,
                       std::optional<std::uint64_t> old_body) {
  std::string head(state_header);
  head += digest_key;
  head.append(digest_size, '0');
  head += "\nallocation " + allocation_id + "\n";
  m_rewrite = std::make_unique<LineRewrite>(std::move(file), std::move(head), old_body);
}

StateDraft::~StateDraft() = default;

bool StateDraft::keep(std::uint64_t start, std::uint64_t end) {
  return m_rewrite->keep(start, end);
}

void StateDraft::write(std::string_view line) {
  m_rewrite->write(line);
}

void StateDraft::commit(const std::string& digest) {
  if (digest.size() != digest_size) {
    throw Error(ExitCode::internal, "a tree digest of " + std::to_string(digest.size()) + " bytes");
  }
  m_rewrite->patch(state_header.size() + digest_key.size(), digest);
  m_rewrite->commit();
}

} // namespace tccp::sync
