#include "tccp/sync/output.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "tccp/core/error.hpp"
#include "tccp/sync/counting_remote.hpp"
#include "tccp/sync/helper.hpp"
#include "tccp/sync/push.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace fs = std::filesystem;

std::string output_stamp(const std::string& created_at, const std::string& run_id) {
  if (created_at.empty() || created_at == "-") {
    return run_id;
  }
  std::string s = created_at;
  for (char& c : s) {
    if (c == ':') {
      c = '-';
    }
  }
  return s;
}

namespace {

struct RemoteFile {
  char type = 'f'; // f, l, d (find's %y)
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;
  unsigned mode = 0644;
};

struct Listing {
  std::string run_id;
  std::string created_at;
  std::string job;
  std::map<std::string, RemoteFile> files;
};

std::string remote_error(const remote::ExecResult& r) {
  std::string why = util::trim(r.err);
  if (util::starts_with(why, "tccp-remote: error: ")) {
    why = why.substr(20);
  }
  if (r.signal) {
    why = "the remote side was killed (SIG" + *r.signal + ")";
  }
  return why.empty() ? "exit status " + std::to_string(r.exit_code) : why;
}

// A path from the cluster, made safe to join under the local dir.
std::optional<std::string> safe_relative(std::string_view p) {
  if (util::starts_with(p, "./")) {
    p.remove_prefix(2);
  }
  auto parts = util::split(p, '/');
  for (const auto& part : parts) {
    if (part.empty() || part == "." || part == "..") {
      return std::nullopt;
    }
  }
  return parts.empty() ? std::nullopt : std::optional<std::string>(std::string(p));
}

Listing parse_listing(const std::string& out) {
  Listing l;
  std::size_t nl = out.find('\n');
  if (!util::starts_with(out, "run ") || nl == std::string::npos) {
    throw Error(ExitCode::protocol, "the cluster sent a malformed output listing");
  }
  // "run ID CREATED_AT JOB" (the job name is the rest of the line)
  std::string head = out.substr(4, nl - 4);
  std::size_t s1 = head.find(' ');
  std::size_t s2 = s1 == std::string::npos ? s1 : head.find(' ', s1 + 1);
  if (s2 == std::string::npos) {
    throw Error(ExitCode::protocol, "the cluster sent a malformed output listing");
  }
  l.run_id = head.substr(0, s1);
  l.created_at = head.substr(s1 + 1, s2 - s1 - 1);
  l.job = head.substr(s2 + 1);
  std::size_t pos = nl + 1;
  while (pos < out.size()) {
    std::size_t end = out.find('\0', pos);
    if (end == std::string::npos) {
      throw Error(ExitCode::protocol, "the cluster sent a truncated output listing");
    }
    std::string rec = out.substr(pos, end - pos);
    pos = end + 1;
    // TYPE TAB SIZE TAB MTIME TAB MODE TAB PATH (the path may hold tabs)
    std::size_t t1 = rec.find('\t');
    std::size_t t2 = rec.find('\t', t1 + 1);
    std::size_t t3 = rec.find('\t', t2 + 1);
    std::size_t t4 = rec.find('\t', t3 + 1);
    if (t1 != 1 || t4 == std::string::npos) {
      throw Error(ExitCode::protocol, "the cluster sent a malformed output record");
    }
    auto path = safe_relative(std::string_view(rec).substr(t4 + 1));
    if (!path) {
      continue;
    }
    RemoteFile f;
    f.type = rec[0];
    try {
      f.size = std::stoull(rec.substr(t1 + 1, t2 - t1 - 1));
      f.mtime_s = std::stoll(rec.substr(t2 + 1, t3 - t2 - 1));
      f.mode = static_cast<unsigned>(std::stoul(rec.substr(t3 + 1, t4 - t3 - 1), nullptr, 8));
    } catch (const std::exception&) {
      throw Error(ExitCode::protocol, "the cluster sent a malformed output record");
    }
    l.files[*path] = f;
  }
  return l;
}

bool excluded(const std::string& path, const std::vector<std::string>& exclude) {
  for (const auto& e : exclude) {
    if (path == e || util::starts_with(path, e + "/")) {
      return true;
    }
  }
  return false;
}

// Makes `final_path` the complete file `part`, with the cluster's mtime.
void finalise(const fs::path& part, const fs::path& final_path, std::int64_t mtime_s,
              unsigned mode) {
  ::chmod(part.c_str(), (mode & 0777) | 0600);
  timespec times[2];
  times[0].tv_sec = static_cast<time_t>(mtime_s);
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ::utimensat(AT_FDCWD, part.c_str(), times, AT_SYMLINK_NOFOLLOW);
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(final_path, ec))) {
    fs::remove_all(final_path, ec);
  }
  fs::rename(part, final_path);
}

fs::path part_of(const fs::path& p) {
  return p.string() + part_suffix;
}

// Bytes handed from the stream callback to the extracting thread, bounded
// so memory stays flat whatever the output size.
class ChunkQueue {
public:
  void push(std::string_view data) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait(lock, [&] { return m_bytes < limit || m_abandoned; });
    if (m_abandoned) {
      return;
    }
    m_queue.emplace_back(data);
    m_bytes += data.size();
    m_cv.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_closed = true;
    m_cv.notify_all();
  }
  // The consumer gave up: further pushes are dropped.
  void abandon() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_abandoned = true;
    m_queue.clear();
    m_bytes = 0;
    m_cv.notify_all();
  }
  bool pop(std::string& out) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait(lock, [&] { return !m_queue.empty() || m_closed; });
    if (m_queue.empty()) {
      return false;
    }
    out = std::move(m_queue.front());
    m_queue.pop_front();
    m_bytes -= out.size();
    m_cv.notify_all();
    return true;
  }

private:
  static constexpr std::size_t limit = 8u << 20;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::string> m_queue;
  std::size_t m_bytes = 0;
  bool m_closed = false;
  bool m_abandoned = false;
};

// Extracts the tar part of the stream into the local dir, each file through
// its .tccp.part name.
class Extractor {
public:
  Extractor(ChunkQueue& queue, fs::path dir, std::function<void(std::uint64_t)> on_bytes)
      : m_queue(queue), m_dir(std::move(dir)), m_on_bytes(std::move(on_bytes)) {}

  void run() {
    try {
      extract();
    } catch (const std::exception&) {
      m_error = std::current_exception();
    }
    // Whatever happened, the stream must not block on a reader that left.
    m_queue.abandon();
  }

  std::size_t files_done() const { return m_files; }
  bool complete() const { return m_complete; }
  std::exception_ptr error() const { return m_error; }

private:
  static la_ssize_t read_cb(archive* /*a*/, void* ctx, const void** buf) {
    auto* self = static_cast<Extractor*>(ctx);
    if (!self->m_queue.pop(self->m_chunk)) {
      return 0;
    }
    *buf = self->m_chunk.data();
    return static_cast<la_ssize_t>(self->m_chunk.size());
  }

  void extract() {
    std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    if (archive_read_open(a.get(), this, nullptr, &Extractor::read_cb, nullptr) != ARCHIVE_OK) {
      return; // nothing arrived
    }
    for (;;) {
      archive_entry* e = nullptr;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) {
        m_complete = true;
        return;
      }
      if (r < ARCHIVE_WARN) {
        return; // cut short
      }
      const char* name = archive_entry_pathname(e);
      auto rel = name != nullptr ? safe_relative(name) : std::nullopt;
      if (!rel) {
        continue;
      }
      fs::path dest = m_dir / *rel;
      fs::create_directories(dest.parent_path());
      auto type = archive_entry_filetype(e);
      if (type == AE_IFDIR) {
        fs::create_directories(dest);
        continue;
      }
      if (type == AE_IFLNK) {
        fs::path tmp = part_of(dest);
        std::error_code ec;
        fs::remove(tmp, ec);
        fs::create_symlink(archive_entry_symlink(e), tmp);
        fs::rename(tmp, dest);
        ++m_files;
        continue;
      }
      if (type != AE_IFREG) {
        continue;
      }
      if (!write_file(a.get(), e, dest)) {
        return; // cut short in the middle of a file: its part stays
      }
      ++m_files;
    }
  }

  bool write_file(archive* a, archive_entry* e, const fs::path& dest) {
    fs::path part = part_of(dest);
    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw Error(ExitCode::failed,
                  "cannot write '" + part.string() + "': " + std::strerror(errno));
    }
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) {
        break;
      }
      if (r < ARCHIVE_WARN) {
        ::close(fd);
        return false;
      }
      const char* p = static_cast<const char*>(buf);
      std::size_t left = size;
      while (left > 0) {
        ssize_t w = ::pwrite(fd, p, left, offset);
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w < 0) {
          int err = errno;
          ::close(fd);
          throw Error(ExitCode::failed,
                      "cannot write '" + part.string() + "': " + std::strerror(err));
        }
        p += w;
        offset += w;
        left -= static_cast<std::size_t>(w);
      }
      m_on_bytes(size);
    }
    // A sparse tail leaves the file short: extend it to its size.
    if (::ftruncate(fd, archive_entry_size(e)) != 0) {
      int err = errno;
      ::close(fd);
      throw Error(ExitCode::failed, "cannot write '" + part.string() + "': " + std::strerror(err));
    }
    ::close(fd);
    finalise(part, dest, archive_entry_mtime(e), archive_entry_perm(e));
    return true;
  }

  ChunkQueue& m_queue;
  fs::path m_dir;
  std::function<void(std::uint64_t)> m_on_bytes;
  std::string m_chunk;
  std::size_t m_files = 0;
  bool m_complete = false;
  std::exception_ptr m_error;
};

struct Resume {
  std::string path;
  std::uint64_t offset = 0;
};

// Parses the stream: first the resumed files ("part OFF LEN" + bytes, or
// "gone"), then "tar" and the tar stream, handed to the extractor.
class StreamParser {
public:
  StreamParser(const fs::path& dir, const std::vector<Resume>& resumes,
               const std::map<std::string, RemoteFile>& files, ChunkQueue& queue,
               std::function<void(std::uint64_t)> on_bytes)
      : m_dir(dir), m_resumes(resumes), m_files(files), m_queue(queue),
        m_on_bytes(std::move(on_bytes)) {}

  ~StreamParser() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  void feed(std::string_view data) {
    while (!data.empty()) {
      if (m_in_tar) {
        m_queue.push(data);
        return;
      }
      if (m_left > 0) {
        std::size_t n = std::min<std::uint64_t>(m_left, data.size());
        write_all(data.substr(0, n));
        data.remove_prefix(n);
        m_left -= n;
        m_on_bytes(n);
        if (m_left == 0) {
          finish_part();
        }
        continue;
      }
      std::size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        m_line.append(data);
        if (m_line.size() > 256) {
          throw Error(ExitCode::protocol, "the cluster sent a malformed output stream");
        }
        return;
      }
      m_line.append(data.substr(0, nl));
      data.remove_prefix(nl + 1);
      header(m_line);
      m_line.clear();
    }
  }

  std::size_t parts_done() const { return m_parts_done; }
  bool reached_tar() const { return m_in_tar; }

private:
  void header(const std::string& line) {
    if (line == "tar") {
      m_in_tar = true;
      return;
    }
    if (m_next >= m_resumes.size()) {
      throw Error(ExitCode::protocol, "the cluster sent more files than were asked for");
    }
    const Resume& r = m_resumes[m_next++];
    if (line == "gone") {
      return;
    }
    auto f = util::split(line, ' ');
    if (f.size() != 3 || f[0] != "part") {
      throw Error(ExitCode::protocol, "the cluster sent a malformed output stream");
    }
    std::uint64_t offset = std::stoull(f[1]);
    m_left = std::stoull(f[2]);
    m_current = r.path;
    fs::path part = part_of(m_dir / r.path);
    fs::create_directories(part.parent_path());
    m_fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd < 0 || ::ftruncate(m_fd, static_cast<off_t>(offset)) != 0 ||
        ::lseek(m_fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      throw Error(ExitCode::failed,
                  "cannot write '" + part.string() + "': " + std::strerror(errno));
    }
    if (m_left == 0) {
      finish_part();
    }
  }

  void write_all(std::string_view d) {
    while (!d.empty()) {
      ssize_t w = ::write(m_fd, d.data(), d.size());
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w < 0) {
        throw Error(ExitCode::failed, std::string("cannot write output: ") + std::strerror(errno));
      }
      d.remove_prefix(static_cast<std::size_t>(w));
    }
  }

  void finish_part() {
    ::close(m_fd);
    m_fd = -1;
    const RemoteFile& f = m_files.at(m_current);
    fs::path dest = m_dir / m_current;
    finalise(part_of(dest), dest, f.mtime_s, f.mode);
    ++m_parts_done;
  }

  const fs::path& m_dir;
  const std::vector<Resume>& m_resumes;
  const std::map<std::string, RemoteFile>& m_files;
  ChunkQueue& m_queue;
  std::function<void(std::uint64_t)> m_on_bytes;
  std::string m_line;
  std::size_t m_next = 0;
  std::uint64_t m_left = 0;
  std::string m_current;
  int m_fd = -1;
  std::size_t m_parts_done = 0;
  bool m_in_tar = false;
};

void point_latest(const fs::path& job_dir, const std::string& stamp) {
  fs::path tmp = job_dir / (".latest." + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(stamp, tmp);
  fs::rename(tmp, job_dir / "latest");
}

void check_name(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw Error(ExitCode::usage, what + " '" + name + "' cannot name a directory");
  }
}

} // namespace

PullResult pull_output(remote::Remote& remote, const PullRequest& req, PullObserver* observer) {
  if (req.run_id.empty() && req.job.empty()) {
    throw Error(ExitCode::usage, "no run to pull: give a job or a run id");
  }
  auto output = project_relative(req.output);
  if (!output) {
    throw Error(ExitCode::config, "output '" + req.output + "' is not a path inside the project");
  }
  CountingRemote counted(remote);
  auto listed = call_helper(counted, req.remote_root, "output_list",
                            {req.project, req.run_id, req.job, *output});
  if (listed.exit_code != 0) {
    throw Error(ExitCode::failed,
                "cannot list the output on " + remote.describe() + ": " + remote_error(listed));
  }
  Listing l = parse_listing(listed.out);
  PullResult result;
  result.run_id = l.run_id;
  result.job = req.job.empty() ? l.job : req.job;
  check_name("job", result.job);
  fs::path job_dir = req.local_output / result.job;
  std::string stamp = output_stamp(l.created_at, l.run_id);
  check_name("run", stamp);
  result.dir = job_dir / stamp;
  result.latest = job_dir / "latest";
  fs::create_directories(result.dir);

  std::vector<Resume> resumes;
  std::string whole; // NUL-separated "./path" list for the tar
  std::uint64_t to_fetch = 0;
  for (const auto& [path, f] : l.files) {
    if (excluded(path, req.exclude)) {
      continue;
    }
    fs::path dest = result.dir / path;
    if (f.type == 'd') {
      fs::create_directories(dest);
      continue;
    }
    if (f.type == 'l') {
      whole += "./" + path + '\0';
      continue;
    }
    if (f.type != 'f') {
      continue;
    }
    ++result.files_total;
    result.bytes_total += f.size;
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<std::uint64_t>(st.st_size) == f.size && st.st_mtim.tv_sec == f.mtime_s) {
      continue; // already here, complete
    }
    struct stat pst {};
    fs::path part = part_of(dest);
    if (::lstat(part.c_str(), &pst) == 0 && S_ISREG(pst.st_mode) && pst.st_size > 0 &&
        static_cast<std::uint64_t>(pst.st_size) < f.size && resumes.size() < 64) {
      resumes.push_back({path, static_cast<std::uint64_t>(pst.st_size)});
      to_fetch += f.size - static_cast<std::uint64_t>(pst.st_size);
      continue;
    }
    whole += "./" + path + '\0';
    to_fetch += f.size;
  }

  if (!resumes.empty() || !whole.empty()) {
    std::vector<std::string> args{req.project, l.run_id, *output};
    for (const auto& r : resumes) {
      args.push_back(std::to_string(r.offset));
      args.push_back(r.path);
    }
    std::atomic<std::uint64_t> done{0};
    std::mutex progress_mutex;
    auto on_bytes = [&](std::uint64_t n) {
      std::uint64_t now = done += n;
      if (observer != nullptr) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        observer->progress(now, to_fetch);
      }
    };
    ChunkQueue queue;
    Extractor extractor(queue, result.dir, on_bytes);
    std::thread worker([&] { extractor.run(); });
    StreamParser parser(result.dir, resumes, l.files, queue, on_bytes);
    std::string errors;
    std::exception_ptr parse_error;
    remote::ExecResult r;
    try {
      r = call_helper_stream(
          counted, req.remote_root, "output_send", args,
          [&](const remote::StdinWriter& write) { write(whole); },
          [&](std::string_view d) {
            if (!parse_error) {
              try {
                parser.feed(d);
              } catch (const std::exception&) {
                parse_error = std::current_exception();
                queue.abandon();
              }
            }
          },
          [&](std::string_view d) {
            if (errors.size() < 4096) {
              errors.append(d);
            }
          });
    } catch (const std::exception&) {
      queue.close();
      worker.join();
      throw;
    }
    queue.close();
    worker.join();
    if (parse_error) {
      std::rethrow_exception(parse_error);
    }
    if (extractor.error()) {
      std::rethrow_exception(extractor.error());
    }
    result.files_resumed = parser.parts_done();
    result.files_fetched = parser.parts_done() + extractor.files_done();
    result.bytes_fetched = done;
    if (r.exit_code != 0 && !r.signal) {
      r.err = errors;
      throw Error(ExitCode::failed,
                  "cannot download the output of run '" + l.run_id + "': " + remote_error(r));
    }
    if (!parser.reached_tar() || !extractor.complete() || r.exit_code != 0) {
      throw Error(ExitCode::unreachable,
                  "the download of run '" + l.run_id + "' was cut short (" +
                      std::to_string(result.files_fetched) + " files complete)",
                  "run the pull again: it continues where it stopped");
    }
  }
  point_latest(job_dir, stamp);
  result.round_trips = counted.round_trips();
  return result;
}

CleanResult clean_output(remote::Remote& remote, const CleanRequest& req) {
  CleanResult result;
  std::error_code ec;
  if (fs::is_directory(req.local_output, ec)) {
    for (const auto& job_entry : fs::directory_iterator(req.local_output, ec)) {
      std::string job = job_entry.path().filename().string();
      if (!req.job.empty() && job != req.job) {
        continue;
      }
      fs::path latest = job_entry.path() / "latest";
      if (!fs::is_symlink(fs::symlink_status(latest, ec))) {
        continue; // not a directory tccp made
      }
      std::string keep = fs::read_symlink(latest, ec).filename().string();
      for (const auto& run : fs::directory_iterator(job_entry.path(), ec)) {
        std::string name = run.path().filename().string();
        bool looks_like_stamp = name.size() >= 10 && name[4] == '-' && name[7] == '-';
        if (name == "latest" || name == keep || !looks_like_stamp ||
            !fs::is_directory(run.symlink_status())) {
          continue;
        }
        fs::remove_all(run.path());
        result.local_removed.push_back(run.path());
      }
    }
  }
  auto output = project_relative(req.output);
  if (!output) {
    throw Error(ExitCode::config, "output '" + req.output + "' is not a path inside the project");
  }
  CountingRemote counted(remote);
  std::vector<std::string> args{req.project, *output};
  if (!req.job.empty()) {
    args.push_back(req.job);
  }
  auto r = call_helper(counted, req.remote_root, "output_clean", args);
  if (r.exit_code != 0) {
    throw Error(ExitCode::failed,
                "cannot clean the output on " + remote.describe() + ": " + remote_error(r));
  }
  for (const auto& line : util::split(r.out, '\n')) {
    if (util::starts_with(line, "cleaned ")) {
      result.remote_cleaned.push_back(line.substr(8));
    }
  }
  result.round_trips = counted.round_trips();
  return result;
}

} // namespace tccp::sync
