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

std::optional<RemoteState> load_remote_state(const fs::path& file, bool* corrupt_out) {
  auto text = util::read_file_if_exists(file);
  if (!text) {
    return std::nullopt;
  }
  auto corrupt = [&]() -> std::optional<RemoteState> {
    std::error_code ec;
    fs::rename(file, file.string() + ".corrupt", ec);
    if (corrupt_out != nullptr) {
      *corrupt_out = true;
    }
    return std::nullopt;
  };
  std::string_view rest = *text;
  if (!util::starts_with(rest, state_header)) {
    return corrupt();
  }
  rest.remove_prefix(state_header.size());
  RemoteState st;
  for (const char* key : {"digest ", "allocation "}) {
    std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos || !util::starts_with(rest, key)) {
      return corrupt();
    }
    std::string value(rest.substr(std::string_view(key).size(), nl - std::string_view(key).size()));
    (std::string_view(key) == "digest " ? st.digest : st.allocation_id) = value;
    rest.remove_prefix(nl + 1);
  }
  try {
    st.manifest = Manifest::parse(rest);
  } catch (const Error&) {
    return corrupt();
  }
  if (st.manifest.digest() != st.digest) {
    return corrupt();
  }
  return st;
}

void save_remote_state(const fs::path& file, const RemoteState& state) {
  std::string out(state_header);
  out += "digest " + state.digest + "\n";
  out += "allocation " + state.allocation_id + "\n";
  out += state.manifest.text();
  util::atomic_write_file(file, out, 0600);
}

} // namespace tccp::sync
