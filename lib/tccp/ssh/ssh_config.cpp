#include "tccp/ssh/ssh_config.hpp"

#include <cstdlib>
#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include "tccp/core/error.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

namespace {

constexpr int max_include_depth = 16;

// Splits an ssh_config argument list: whitespace separates, double quotes
// group (ssh's argv_split without escapes beyond \" inside quotes).
std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    if (i >= text.size() || text[i] == '#') {
      break;
    }
    std::string word;
    bool quoted = false;
    while (i < text.size()) {
      char c = text[i];
      if (c == '"') {
        quoted = !quoted;
        ++i;
        continue;
      }
      if (!quoted && (c == ' ' || c == '\t')) {
        break;
      }
      if (c == '\\' && i + 1 < text.size() && text[i + 1] == '"') {
        word.push_back('"');
        i += 2;
        continue;
      }
      word.push_back(c);
      ++i;
    }
    out.push_back(std::move(word));
  }
  return out;
}

std::optional<bool> parse_yes_no(const std::vector<std::string>& args) {
  if (args.empty()) {
    return std::nullopt;
  }
  std::string v = util::to_lower(args.front());
  if (v == "yes" || v == "true") {
    return true;
  }
  if (v == "no" || v == "false") {
    return false;
  }
  return std::nullopt;
}

std::optional<int> parse_int(const std::vector<std::string>& args) {
  if (args.empty()) {
    return std::nullopt;
  }
  try {
    std::size_t used = 0;
    int v = std::stoi(args.front(), &used);
    if (used != args.front().size()) {
      return std::nullopt;
    }
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string local_user() {
  if (const passwd* pw = ::getpwuid(::getuid())) {
    return pw->pw_name;
  }
  const char* u = std::getenv("USER");
  return u != nullptr ? u : "";
}

std::vector<std::string> split_patterns(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    for (auto& p : util::split(a, ',')) {
      if (!p.empty()) {
        out.push_back(p);
      }
    }
  }
  return out;
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with backtracking on the last '*'.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

bool host_matches(std::string_view host, const std::vector<std::string>& patterns) {
  bool matched = false;
  for (const auto& raw : patterns) {
    for (const auto& pat : util::split(raw, ',')) {
      if (pat.empty()) {
        continue;
      }
      if (pat.front() == '!') {
        if (glob_match(std::string_view(pat).substr(1), host)) {
          return false;
        }
      } else if (glob_match(pat, host)) {
        matched = true;
      }
    }
  }
  return matched;
}

std::string expand_tokens(std::string_view value, std::string_view host, std::string_view user,
                          int port, std::string_view original) {
  std::string out;
  std::string home = util::home_dir().string();
  if (util::starts_with(value, "~/") || value == "~") {
    out = home;
    value.remove_prefix(1);
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%' || i + 1 >= value.size()) {
      out.push_back(value[i]);
      continue;
    }
    char c = value[++i];
    switch (c) {
    case '%': out.push_back('%'); break;
    case 'd': out += home; break;
    case 'u': out += local_user(); break;
    case 'h': out += host; break;
    case 'r': out += user; break;
    case 'p': out += std::to_string(port); break;
    case 'n': out += original; break;
    default: out.push_back('%'); out.push_back(c);
    }
  }
  return out;
}

namespace {

struct Parser {
  std::filesystem::path include_dir;
  struct Raw {
    std::vector<std::vector<std::string>> conditions; // each list must match
    bool skip = false;
    std::string keyword;
    std::vector<std::string> args;
  };
  std::vector<Raw> entries;

  void parse(std::string_view text, const std::string& origin,
             const std::vector<std::vector<std::string>>& outer, bool outer_skip, int depth) {
    if (depth > max_include_depth) {
      throw Error(ExitCode::config, origin + ": Include nested too deeply");
    }
    std::vector<std::vector<std::string>> conds = outer;
    bool skip = outer_skip;
    int lineno = 0;
    for (const auto& line_raw : util::split(text, '\n')) {
      ++lineno;
      std::string line = util::trim(line_raw);
      if (line.empty() || line.front() == '#') {
        continue;
      }
      // keyword [=] args
      std::size_t k = 0;
      while (k < line.size() && line[k] != ' ' && line[k] != '\t' && line[k] != '=') {
        ++k;
      }
      std::string keyword = util::to_lower(line.substr(0, k));
      std::string_view rest = std::string_view(line).substr(k);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
        rest.remove_prefix(1);
      }
      if (!rest.empty() && rest.front() == '=') {
        rest.remove_prefix(1);
      }
      auto args = split_args(rest);
      if (keyword == "host") {
        conds = outer;
        conds.push_back(split_patterns(args));
        skip = outer_skip;
        continue;
      }
      if (keyword == "match") {
        conds = outer;
        bool all = args.size() == 1 && util::to_lower(args.front()) == "all";
        skip = outer_skip || !all;
        continue;
      }
      if (keyword == "include") {
        for (const auto& a : args) {
          include(a, origin + ":" + std::to_string(lineno), conds, skip, depth);
        }
        continue;
      }
      entries.push_back(Raw{conds, skip, keyword, std::move(args)});
    }
  }

  void include(const std::string& spec, const std::string& where,
               const std::vector<std::vector<std::string>>& conds, bool skip, int depth) {
    std::string path = spec;
    if (util::starts_with(path, "~/")) {
      path = (util::home_dir() / path.substr(2)).string();
    } else if (!path.empty() && path.front() != '/') {
      path = (include_dir / path).string();
    }
    glob_t g{};
    if (::glob(path.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        std::string file = g.gl_pathv[i];
        std::optional<std::string> text;
        try {
          text = util::read_file_if_exists(file);
        } catch (const std::exception& e) {
          ::globfree(&g);
          throw Error(ExitCode::config,
                      where + ": cannot read included '" + file + "': " + e.what());
        }
        if (text) {
          parse(*text, file, conds, skip, depth + 1);
        }
      }
    }
    ::globfree(&g);
  }
};

} // namespace

SshConfig SshConfig::parse(std::string_view text, const std::string& origin,
                           const std::filesystem::path& include_dir) {
  Parser p;
  p.include_dir = include_dir;
  p.parse(text, origin, {}, false, 0);
  SshConfig cfg;
  for (auto& raw : p.entries) {
    // Flatten the condition lists into one pattern vector per list: an entry
    // applies when every list matches, so keep them apart with a marker.
    Entry e;
    e.skip = raw.skip;
    e.keyword = std::move(raw.keyword);
    e.args = std::move(raw.args);
    for (auto& list : raw.conditions) {
      std::string joined;
      for (const auto& pat : list) {
        joined += (joined.empty() ? "" : ",") + pat;
      }
      e.patterns.push_back(joined);
    }
    cfg.m_entries.push_back(std::move(e));
  }
  return cfg;
}

SshConfig SshConfig::load(const std::filesystem::path& path,
                          const std::filesystem::path& include_dir) {
  std::optional<std::string> text;
  try {
    text = util::read_file_if_exists(path);
  } catch (const std::exception& e) {
    throw Error(ExitCode::config, "cannot read ssh config '" + path.string() + "': " + e.what());
  }
  if (!text) {
    return {};
  }
  return parse(*text, path.string(), include_dir);
}

SshConfig SshConfig::load_default(const std::optional<std::string>& explicit_file) {
  std::filesystem::path user_dir = util::home_dir() / ".ssh";
  if (explicit_file && !explicit_file->empty()) {
    if (!std::filesystem::exists(*explicit_file)) {
      throw Error(ExitCode::config, "ssh config '" + *explicit_file + "' does not exist");
    }
    return load(*explicit_file, user_dir);
  }
  if (const char* env = std::getenv("TCCP_SSH_CONFIG"); env != nullptr && *env != '\0') {
    if (!std::filesystem::exists(env)) {
      throw Error(ExitCode::config,
                  std::string("ssh config '") + env + "' (from TCCP_SSH_CONFIG) does not exist");
    }
    return load(env, user_dir);
  }
  SshConfig cfg = load(user_dir / "config", user_dir);
  cfg.append(load("/etc/ssh/ssh_config", "/etc/ssh"));
  return cfg;
}

void SshConfig::append(const SshConfig& other) {
  m_entries.insert(m_entries.end(), other.m_entries.begin(), other.m_entries.end());
}

HostOptions SshConfig::lookup(std::string_view host) const {
  HostOptions o;
  for (const auto& e : m_entries) {
    if (e.skip) {
      continue;
    }
    bool applies = true;
    for (const auto& list : e.patterns) {
      applies = applies && host_matches(host, {list});
    }
    if (!applies) {
      continue;
    }
    const auto& a = e.args;
    const std::string& k = e.keyword;
    auto first = [&](auto& field, auto value) {
      if (!field && value) {
        field = value;
      }
    };
    if (k == "hostname" && !a.empty()) {
      first(o.hostname, std::optional<std::string>(a.front()));
    } else if (k == "user" && !a.empty()) {
      first(o.user, std::optional<std::string>(a.front()));
    } else if (k == "port") {
      first(o.port, parse_int(a));
    } else if (k == "identityfile" && !a.empty()) {
      o.identity_files.push_back(a.front());
    } else if (k == "identitiesonly") {
      first(o.identities_only, parse_yes_no(a));
    } else if (k == "proxycommand" && !a.empty()) {
      std::string joined;
      for (const auto& w : a) {
        joined += (joined.empty() ? "" : " ") + w;
      }
      first(o.proxy_command, std::optional<std::string>(joined));
    } else if (k == "proxyjump" && !a.empty()) {
      first(o.proxy_jump, std::optional<std::string>(a.front()));
    } else if (k == "serveraliveinterval") {
      first(o.server_alive_interval_s, parse_int(a));
    } else if (k == "serveralivecountmax") {
      first(o.server_alive_count_max, parse_int(a));
    } else if (k == "connecttimeout") {
      first(o.connect_timeout_s, parse_int(a));
    } else if (k == "userknownhostsfile" && !a.empty()) {
      first(o.user_known_hosts_files, std::optional<std::vector<std::string>>(a));
    } else if (k == "globalknownhostsfile" && !a.empty()) {
      first(o.global_known_hosts_files, std::optional<std::vector<std::string>>(a));
    } else if (k == "hostkeyalias" && !a.empty()) {
      first(o.host_key_alias, std::optional<std::string>(a.front()));
    } else if (k == "batchmode") {
      first(o.batch_mode, parse_yes_no(a));
    } else if (k == "pubkeyauthentication") {
      first(o.pubkey_authentication, parse_yes_no(a));
    } else if (k == "passwordauthentication") {
      first(o.password_authentication, parse_yes_no(a));
    } else if (k == "kbdinteractiveauthentication" || k == "challengeresponseauthentication") {
      first(o.kbd_interactive_authentication, parse_yes_no(a));
    } else if (k == "preferredauthentications" && !a.empty()) {
      std::vector<std::string> methods;
      for (const auto& m : util::split(a.front(), ',')) {
        if (!m.empty()) {
          methods.push_back(m);
        }
      }
      first(o.preferred_authentications, std::optional<std::vector<std::string>>(methods));
    }
  }
  return o;
}

} // namespace tccp::ssh
