#include "tccp/sync/scan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "tccp/core/error.hpp"
#include "tccp/sync/ignore.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace fs = std::filesystem;

namespace {

// The ignore lists of one directory level; .tccpignore beats .gitignore.
struct Frame {
  IgnoreList git;
  IgnoreList tccp;
};

std::int64_t to_ns(const timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Reads an in-tree ignore file; like git, a symlinked one is not followed.
std::optional<std::string> read_ignore_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Lexically normalises a '/'-separated path ("a/./b/../c" -> "a/c"); returns
// nullopt when ".." climbs above the start.
std::optional<std::string> normalise(std::string_view path) {
  std::vector<std::string> parts;
  for (const auto& part : util::split(path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (parts.empty()) {
        return std::nullopt;
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return util::join(parts, "/");
}

// The git directory of the repository at `top` (`.git` or a gitfile).
std::optional<fs::path> git_dir_of(const fs::path& top) {
  fs::path dot_git = top / ".git";
  struct stat st {};
  if (::lstat(dot_git.c_str(), &st) != 0) {
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    return dot_git;
  }
  auto text = util::read_file_if_exists(dot_git);
  if (!text || !util::starts_with(*text, "gitdir:")) {
    return std::nullopt;
  }
  fs::path dir = util::trim(text->substr(7));
  if (dir.is_relative()) {
    dir = top / dir;
  }
  // A linked worktree keeps info/exclude in the common directory.
  if (auto common = util::read_file_if_exists(dir / "commondir")) {
    fs::path c = util::trim(*common);
    dir = c.is_relative() ? dir / c : c;
  }
  return dir;
}

class Scanner {
public:
  explicit Scanner(const ScanOptions& options) : m_options(options) {
    m_excluded.insert(options.excluded.begin(), options.excluded.end());
    if (options.ignore_files == IgnoreFiles::git_and_tccp) {
      load_repository_context();
    }
  }

  std::vector<Entry> run() {
    struct stat st {};
    if (::stat(m_options.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error(ExitCode::failed,
                  "cannot scan '" + m_options.root.string() + "': not a directory");
    }
    walk("", 0);
    add_env_file();
    std::sort(m_entries.begin(), m_entries.end(),
              [](const Entry& a, const Entry& b) { return a.path < b.path; });
    return std::move(m_entries);
  }

private:
  // When the root lies inside a git repository, git also applies the
  // .gitignore files of the directories above it and the repository's
  // info/exclude; paths are then matched relative to the repository top.
  void load_repository_context() {
    std::error_code ec;
    fs::path root = fs::weakly_canonical(m_options.root, ec);
    if (ec) {
      root = m_options.root;
    }
    fs::path top;
    for (fs::path dir = root;; dir = dir.parent_path()) {
      struct stat st {};
      if (::lstat((dir / ".git").c_str(), &st) == 0) {
        top = dir;
        break;
      }
      if (dir == dir.parent_path()) {
        break;
      }
    }
    if (top.empty()) {
      return;
    }
    if (auto git_dir = git_dir_of(top)) {
      if (auto text = util::read_file_if_exists(*git_dir / "info" / "exclude")) {
        m_info_exclude = IgnoreList::parse(*text);
      }
    }
    fs::path rel = root.lexically_relative(top);
    if (rel.empty() || rel == ".") {
      return;
    }
    m_prefix = rel.generic_string() + "/";
    // The ancestors' rules, from the repository top down to the root's
    // parent (the root's own files are read by walk()).
    std::vector<std::string> parts;
    for (const auto& part : rel) {
      parts.push_back(part.string());
    }
    std::string base;
    fs::path dir = top;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      Frame f;
      if (auto text = read_ignore_file(dir / ".gitignore")) {
        f.git = IgnoreList::parse(*text, base);
      }
      m_frames.push_back(std::move(f));
      dir /= parts[i];
      base += parts[i] + "/";
    }
  }

  // git's verdict for `path` (root-relative) given the frames so far.
  bool is_ignored(const std::string& rel, bool is_dir) const {
    std::string path = m_prefix + rel;
    for (auto it = m_frames.rbegin(); it != m_frames.rend(); ++it) {
      if (auto v = it->tccp.decide(path, is_dir)) {
        return *v;
      }
      if (auto v = it->git.decide(path, is_dir)) {
        return *v;
      }
    }
    if (auto v = m_info_exclude.decide(path, is_dir)) {
      return *v;
    }
    return false;
  }

  void push_frame(const fs::path& dir, const std::string& rel_dir) {
    Frame f;
    std::string base = m_prefix + (rel_dir.empty() ? "" : rel_dir + "/");
    if (m_options.ignore_files == IgnoreFiles::git_and_tccp) {
      if (auto text = read_ignore_file(dir / ".gitignore")) {
        f.git = IgnoreList::parse(*text, base);
      }
    }
    if (auto text = read_ignore_file(dir / ".tccpignore")) {
      f.tccp = IgnoreList::parse(*text, base);
    }
    m_frames.push_back(std::move(f));
  }

  void walk(const std::string& rel_dir, int depth) {
    fs::path dir = rel_dir.empty() ? m_options.root : m_options.root / rel_dir;
    if (depth > 256) {
      throw Error(ExitCode::failed, "'" + dir.string() + "' is nested too deeply");
    }
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
      throw Error(ExitCode::failed,
                  "cannot read directory '" + dir.string() + "': " + std::strerror(errno),
                  "add it to .tccpignore to leave it out");
    }
    push_frame(dir, rel_dir);
    std::vector<std::string> names;
    while (dirent* de = ::readdir(d.get())) {
      std::string name = de->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    // Entries are looked up relative to the open directory: no path walk.
    int dir_fd = ::dirfd(d.get());
    for (const auto& name : names) {
      std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      fs::path full = dir / name;
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue; // vanished while scanning
      }
      bool is_dir = S_ISDIR(st.st_mode);
      if (is_builtin_excluded(name, is_dir) || m_excluded.count(rel) != 0) {
        continue;
      }
      if (is_ignored(rel, is_dir)) {
        continue;
      }
      Entry e;
      e.path = rel;
      e.mtime_ns = to_ns(st.st_mtim);
      e.ctime_ns = to_ns(st.st_ctim);
      e.inode = st.st_ino;
      if (is_dir) {
        e.kind = EntryKind::directory;
        m_entries.push_back(e);
        walk(rel, depth + 1); // d stays open: depth bounds the descriptors
      } else if (S_ISREG(st.st_mode)) {
        e.kind = (st.st_mode & S_IXUSR) != 0 ? EntryKind::executable : EntryKind::file;
        e.size = static_cast<std::uint64_t>(st.st_size);
        m_entries.push_back(e);
      } else if (S_ISLNK(st.st_mode)) {
        e.kind = EntryKind::symlink;
        e.link_target = checked_link_target(full, rel);
        e.size = e.link_target.size();
        m_entries.push_back(e);
      }
      // Sockets, fifos and devices cannot be synced; they are skipped.
    }
    m_frames.pop_back();
  }

  // The target a link keeps on the cluster. Links that stay inside the root
  // are kept; absolute ones into the root become relative; others refused.
  std::string checked_link_target(const fs::path& full, const std::string& rel) const {
    std::string target(static_cast<std::size_t>(PATH_MAX) + 1, '\0');
    ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
    if (n < 0) {
      throw Error(ExitCode::failed,
                  "cannot read symlink '" + full.string() + "': " + std::strerror(errno));
    }
    target.resize(static_cast<std::size_t>(n));
    std::string link_dir = rel.find('/') == std::string::npos ? "" : rel.substr(0, rel.rfind('/'));
    std::optional<std::string> resolved;
    std::string kept = target;
    if (!target.empty() && target.front() == '/') {
      fs::path root = fs::absolute(m_options.root).lexically_normal();
      fs::path inside = fs::path(target).lexically_normal().lexically_relative(root);
      if (!inside.empty() && *inside.begin() != "..") {
        resolved = normalise(inside.generic_string());
        if (resolved) {
          // Relative to the link's directory, so it resolves on the cluster.
          kept = fs::path(*resolved)
                     .lexically_relative(link_dir.empty() ? "." : link_dir)
                     .generic_string();
          if (kept.empty()) {
            kept = ".";
          }
        }
      }
    } else {
      resolved = normalise(link_dir.empty() ? target : link_dir + "/" + target);
    }
    if (!resolved) {
      throw Error(ExitCode::failed,
                  "symlink '" + rel + "' points outside the project (to '" + target + "')",
                  "add '/" + rel +
                      "' to .tccpignore, or replace the link by a copy; data "
                      "directories can be listed under `rodata:`");
    }
    return kept;
  }

  void add_env_file() {
    if (!m_options.env_file || m_options.env_file->empty()) {
      return;
    }
    auto rel = normalise(*m_options.env_file);
    if (!rel || rel->empty()) {
      return;
    }
    fs::path full = m_options.root / *rel;
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return; // no env file: nothing to sync
    }
    auto same = [&](const Entry& e) { return e.path == *rel; };
    m_entries.erase(std::remove_if(m_entries.begin(), m_entries.end(), same), m_entries.end());
    Entry e;
    e.path = *rel;
    e.kind = EntryKind::secret;
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.mtime_ns = to_ns(st.st_mtim);
    e.ctime_ns = to_ns(st.st_ctim);
    e.inode = st.st_ino;
    m_entries.push_back(e);
    // Its directories come with it even when they are ignored.
    std::set<std::string> have;
    for (const auto& x : m_entries) {
      if (x.kind == EntryKind::directory) {
        have.insert(x.path);
      }
    }
    for (std::size_t slash = rel->find('/'); slash != std::string::npos;
         slash = rel->find('/', slash + 1)) {
      std::string dir = rel->substr(0, slash);
      if (have.count(dir) == 0) {
        Entry d;
        d.path = dir;
        d.kind = EntryKind::directory;
        m_entries.push_back(d);
      }
    }
  }

  const ScanOptions& m_options;
  std::set<std::string> m_excluded;
  std::vector<Frame> m_frames;
  IgnoreList m_info_exclude;
  std::string m_prefix;
  std::vector<Entry> m_entries;
};

} // namespace

bool is_builtin_excluded(std::string_view name, bool is_dir) {
  if (name == ".git") {
    return true;
  }
  return is_dir && (name == "__pycache__" || name == ".venv" || name == "node_modules");
}

std::vector<Entry> scan_tree(const ScanOptions& options) {
  return Scanner(options).run();
}

} // namespace tccp::sync
