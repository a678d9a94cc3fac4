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
#include "tccp/sync/manifest.hpp"
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
  Scanner(const ScanOptions& options, const std::function<void(Entry&&)>& visit)
      : m_options(options), m_visit(visit) {
    m_excluded.insert(options.excluded.begin(), options.excluded.end());
    if (options.ignore_files == IgnoreFiles::git_and_tccp) {
      load_repository_context();
    }
  }

  void run() {
    struct stat st {};
    if (::stat(m_options.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error(ExitCode::failed,
                  "cannot scan '" + m_options.root.string() + "': not a directory");
    }
    find_env_file();
    walk("", 0);
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

  // One name of a directory being walked. A directory has two: itself, and
  // its contents, which come in the visit order under "name/".
  struct Item {
    enum class Visit : char { entry, contents, env_path };
    std::string name;
    Visit visit = Visit::entry;
    EntryKind kind = EntryKind::file;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::uint64_t inode = 0;
  };

  // The visit order: that of the escaped paths, with contents keyed "name/".
  static bool item_less(const Item& a, const Item& b) {
    std::string_view x = a.name;
    std::string_view y = b.name;
    auto [ix, iy] = std::mismatch(x.begin(), x.end(), y.begin(), y.end());
    bool a_in = a.visit != Item::Visit::entry;
    bool b_in = b.visit != Item::Visit::entry;
    if (ix != x.end() && iy != y.end()) {
      return manifest_less(x, y);
    }
    if (ix == x.end() && iy == y.end()) {
      return !a_in && b_in; // a directory before its contents
    }
    if (ix == x.end()) { // x is a proper prefix of y
      return !a_in || manifest_less("/", std::string_view(&*iy, 1));
    }
    return b_in && manifest_less(std::string_view(&*ix, 1), "/");
  }

  static std::string join(const std::string& dir, std::string_view name) {
    std::string rel;
    rel.reserve(dir.size() + 1 + name.size());
    if (!dir.empty()) {
      rel += dir;
      rel += '/';
    }
    rel += name;
    return rel;
  }

  void walk(const std::string& rel_dir, int depth) {
    fs::path dir = rel_dir.empty() ? m_options.root : m_options.root / rel_dir;
    if (depth > 256) {
      throw Error(ExitCode::failed, "'" + dir.string() + "' is nested too deeply");
    }
    push_frame(dir, rel_dir);
    std::vector<Item> items = list(dir, rel_dir);
    add_env_items(rel_dir, items);
    std::sort(items.begin(), items.end(), item_less);
    for (auto& item : items) {
      std::string rel = join(rel_dir, item.name);
      switch (item.visit) {
      case Item::Visit::contents: walk(rel, depth + 1); break;
      case Item::Visit::env_path: walk_env_path(rel); break;
      case Item::Visit::entry: visit(dir, std::move(rel), item); break;
      }
    }
    m_frames.pop_back();
  }

  // The names of `dir` that the rules keep, with their metadata.
  std::vector<Item> list(const fs::path& dir, const std::string& rel_dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
      throw Error(ExitCode::failed,
                  "cannot read directory '" + dir.string() + "': " + std::strerror(errno),
                  "add it to .tccpignore to leave it out");
    }
    std::vector<Item> items;
    // Entries are looked up relative to the open directory: no path walk.
    int dir_fd = ::dirfd(d.get());
    while (dirent* de = ::readdir(d.get())) {
      std::string_view name = de->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      struct stat st {};
      if (::fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue; // vanished while scanning
      }
      bool is_dir = S_ISDIR(st.st_mode);
      std::string rel = join(rel_dir, name);
      if (is_builtin_excluded(name, is_dir) || m_excluded.count(rel) != 0) {
        continue;
      }
      if (is_ignored(rel, is_dir)) {
        continue;
      }
      if (m_env_file && rel == *m_env_file) {
        if (S_ISLNK(st.st_mode)) {
          checked_link_target(dir / name, rel); // one leaving the project is refused
        }
        continue; // comes as the secret it is (add_env_items)
      }
      Item item;
      item.name = name;
      item.mtime_ns = to_ns(st.st_mtim);
      item.ctime_ns = to_ns(st.st_ctim);
      item.inode = st.st_ino;
      if (is_dir) {
        item.kind = EntryKind::directory;
        items.push_back(item);
        item.visit = Item::Visit::contents;
      } else if (S_ISREG(st.st_mode)) {
        item.kind = (st.st_mode & S_IXUSR) != 0 ? EntryKind::executable : EntryKind::file;
        item.size = static_cast<std::uint64_t>(st.st_size);
      } else if (S_ISLNK(st.st_mode)) {
        item.kind = EntryKind::symlink;
      } else {
        continue; // sockets, fifos and devices cannot be synced
      }
      items.push_back(std::move(item));
    }
    return items;
  }

  void visit(const fs::path& dir, std::string rel, const Item& item) {
    Entry e;
    e.kind = item.kind;
    e.size = item.size;
    e.mtime_ns = item.mtime_ns;
    e.ctime_ns = item.ctime_ns;
    e.inode = item.inode;
    if (item.kind == EntryKind::symlink) {
      e.link_target = checked_link_target(dir / item.name, rel);
      e.size = e.link_target.size();
    }
    e.path = std::move(rel);
    m_visit(std::move(e));
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

  // The env file is synced even when ignored, when it is a regular file
  // (a link to one is synced as the file), and so are the directories on
  // its way. The walk leaves it to add_env_items.
  void find_env_file() {
    if (!m_options.env_file || m_options.env_file->empty()) {
      return;
    }
    auto rel = normalise(*m_options.env_file);
    if (!rel || rel->empty()) {
      return;
    }
    struct stat st {};
    if (::stat((m_options.root / *rel).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return; // no env file: nothing to sync
    }
    m_env_entry.path = *rel;
    m_env_entry.kind = EntryKind::secret;
    m_env_entry.size = static_cast<std::uint64_t>(st.st_size);
    m_env_entry.mtime_ns = to_ns(st.st_mtim);
    m_env_entry.ctime_ns = to_ns(st.st_ctim);
    m_env_entry.inode = st.st_ino;
    // Under a symlinked directory it travels with the link.
    for (std::size_t slash = rel->find('/'); slash != std::string::npos;
         slash = rel->find('/', slash + 1)) {
      if (::lstat((m_options.root / rel->substr(0, slash)).c_str(), &st) != 0 ||
          !S_ISDIR(st.st_mode)) {
        return;
      }
    }
    m_env_file = *rel;
  }

  // The part of the env file's path below `rel_dir`, when it is below.
  std::optional<std::string_view> env_below(const std::string& rel_dir) const {
    if (!m_env_file) {
      return std::nullopt;
    }
    std::string_view env = *m_env_file;
    if (rel_dir.empty()) {
      return env;
    }
    if (env.size() > rel_dir.size() + 1 && util::starts_with(env, rel_dir) &&
        env[rel_dir.size()] == '/') {
      return env.substr(rel_dir.size() + 1);
    }
    return std::nullopt;
  }

  // In a directory on the env file's way: the env file, or the next
  // directory towards it when the rules leave that one out.
  void add_env_items(const std::string& rel_dir, std::vector<Item>& items) const {
    auto rest = env_below(rel_dir);
    if (!rest) {
      return;
    }
    std::size_t slash = rest->find('/');
    Item item;
    item.name = rest->substr(0, slash);
    if (slash == std::string_view::npos) {
      item.kind = EntryKind::secret;
      item.size = m_env_entry.size;
      item.mtime_ns = m_env_entry.mtime_ns;
      item.ctime_ns = m_env_entry.ctime_ns;
      item.inode = m_env_entry.inode;
      items.push_back(item);
      return;
    }
    for (const auto& i : items) {
      if (i.name == item.name && i.visit == Item::Visit::contents) {
        return; // walked anyway
      }
    }
    item.kind = EntryKind::directory;
    items.push_back(item);
    item.visit = Item::Visit::env_path;
    items.push_back(item);
  }

  // Below a directory the rules leave out: only the way to the env file.
  void walk_env_path(const std::string& rel_dir) {
    std::string_view rest = *env_below(rel_dir);
    std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
      Entry e = m_env_entry;
      m_visit(std::move(e));
      return;
    }
    Entry d;
    d.path = join(rel_dir, rest.substr(0, slash));
    d.kind = EntryKind::directory;
    std::string next = d.path;
    m_visit(std::move(d));
    walk_env_path(next);
  }

  const ScanOptions& m_options;
  const std::function<void(Entry&&)>& m_visit;
  std::set<std::string> m_excluded;
  std::vector<Frame> m_frames;
  IgnoreList m_info_exclude;
  std::string m_prefix;
  std::optional<std::string> m_env_file; ///< root-relative, when it is to be synced
  Entry m_env_entry;                     ///< the env file, as synced
};

} // namespace

bool is_builtin_excluded(std::string_view name, bool is_dir) {
  if (name == ".git") {
    return true;
  }
  return is_dir && (name == "__pycache__" || name == ".venv" || name == "node_modules");
}

void scan_tree(const ScanOptions& options, const std::function<void(Entry&&)>& visit) {
  Scanner(options, visit).run();
}

std::vector<Entry> scan_tree(const ScanOptions& options) {
  std::vector<Entry> entries;
  scan_tree(options, [&](Entry&& e) { entries.push_back(std::move(e)); });
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return entries;
}

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

} // namespace tccp::sync
