#include "tccp/sync/push.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include "tccp/core/error.hpp"
#include "tccp/sync/counting_remote.hpp"
#include "tccp/sync/hash.hpp"
#include "tccp/sync/helper.hpp"
#include "tccp/sync/state.hpp"
#include "tccp/sync/survey.hpp"
#include "tccp/sync/tar_stream.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::sync {

namespace fs = std::filesystem;

std::optional<std::string> project_relative(const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return std::nullopt;
  }
  auto normal = normalise(path);
  if (!normal || normal->empty()) {
    return std::nullopt;
  }
  return normal;
}

std::string project_target(const std::string& project) {
  return "projects/" + project;
}

std::string rodata_key(const std::string& rodata_path) {
  std::string key;
  for (char c : rodata_path) {
    if (c == '%') {
      key += "%25";
    } else if (c == '/') {
      key += "%2F";
    } else {
      key += c;
    }
  }
  return key;
}

std::string rodata_target(const std::string& project, const std::string& rodata_path) {
  return project_target(project) + "/rodata/" + rodata_key(rodata_path);
}

void validate(const PushSpec& spec) {
  const std::string& p = spec.project;
  if (p.empty() || p == "." || p == ".." || p.find('/') != std::string::npos ||
      p.find('\n') != std::string::npos) {
    throw Error(ExitCode::config, "project name '" + p + "' cannot name a directory",
                "set `name:` in tccp.yaml to a plain name");
  }
  if (!project_relative(spec.output)) {
    throw Error(ExitCode::config, "output '" + spec.output + "' is not a path inside the project");
  }
  for (const auto& r : spec.rodata) {
    if (!project_relative(r)) {
      throw Error(ExitCode::config, "rodata '" + r + "' is not a directory inside the project",
                  "list rodata dirs relative to the project, e.g. `rodata: [data]`");
    }
  }
}

namespace {

using Clock = std::chrono::steady_clock;

unsigned mode_of(EntryKind kind) {
  switch (kind) {
  case EntryKind::executable: return 0755;
  case EntryKind::secret: return 0600;
  case EntryKind::directory: return 0755;
  default: return 0644;
  }
}

// One tree to push: the project, or a rodata dir.
struct Target {
  std::string label;         // "" or the rodata path
  std::string remote_target; // relative to the tccp root
  ScanOptions scan;
  fs::path index_file;
  fs::path state_file;
};

enum class Answer { ok, mismatch, changed_locally };

struct ApplyOutcome {
  Answer answer = Answer::ok;
  std::string digest;
  std::string remote_manifest; ///< mismatch: what the cluster holds
  std::size_t files_sent = 0;
  std::uint64_t bytes_sent = 0;
};

class Pusher {
public:
  Pusher(CountingRemote& remote, const PushSpec& spec, PushObserver* observer)
      : m_remote(remote), m_spec(spec), m_observer(observer) {}

  std::size_t files_hashed() const { return m_files_hashed; }

  TargetReport push_target(const Target& t, bool* first_push) {
    bool corrupt = false;
    auto remembered = load_remote_state(t.state_file, &corrupt);
    if (corrupt) {
      note("the remembered state of " + describe(t) + " was corrupt; asking the cluster");
    }
    int rt_before = m_remote.round_trips();
    // What the cluster is believed to hold.
    std::string expected(empty_digest);
    BaseManifest base;
    if (remembered) {
      expected = remembered->digest;
      base = BaseManifest::remembered(t.state_file, *remembered);
    }
    Survey survey = run_survey(t, base, !remembered && t.label.empty());
    if (survey.base_corrupt) {
      note("the remembered state of " + describe(t) + " was corrupt; asking the cluster");
      remembered.reset();
      expected = empty_digest;
      base = BaseManifest();
      survey = run_survey(t, base, t.label.empty());
    }
    TargetReport report;
    report.path = t.label;
    report.remote_tree = m_spec.remote_root + "/" + t.remote_target + "/tree";
    if (!remembered && t.label.empty()) {
      *first_push = true;
      if (m_observer != nullptr && survey.preview) {
        m_observer->preview(*survey.preview);
      }
    }
    bool probed = false;
    m_remembered = remembered
                       ? std::optional(std::pair(remembered->digest, remembered->allocation_id))
                       : std::nullopt;
    if (m_spec.defer_unchanged && t.label.empty() && remembered &&
        survey.digest == remembered->digest && survey.send.empty() && survey.deleted == 0) {
      report.deferred = true;
      return settled(report, survey, rt_before);
    }
    constexpr int max_attempts = 4;
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      const std::string want = survey.digest;
      if (!probed && should_probe(remembered.has_value(), survey)) {
        // A big delta on an uncertain belief: ask what the cluster holds
        // first rather than stream data it may refuse.
        probed = true;
        auto [digest, manifest] = fetch_manifest(t);
        expected = digest;
        base = BaseManifest::sent(std::move(manifest));
        if (expected == want) {
          return settled(report, survey, rt_before);
        }
        survey = run_survey(t, base, false);
        if (survey.digest != want) {
          continue; // the tree changed meanwhile: look again
        }
      }
      ApplyOutcome r = apply(t, survey, expected, want);
      if (r.answer == Answer::ok) {
        report.files_sent = r.files_sent;
        report.bytes_sent = r.bytes_sent;
        report.deleted = survey.deleted;
        return settled(report, survey, rt_before);
      }
      if (r.answer == Answer::mismatch) {
        if (remembered || attempt > 0) {
          note("the tree on the cluster is not the one last pushed from here; sending the "
               "difference");
        }
        base = BaseManifest::sent(std::move(r.remote_manifest));
        expected = r.digest;
        if (expected == want) {
          // The cluster already holds exactly this tree.
          return settled(report, survey, rt_before);
        }
      } else {
        note("a file changed while it was being sent; sending again");
      }
      survey = run_survey(t, base, false);
    }
    throw Error(ExitCode::failed,
                "the push of " + describe(t) + " did not settle after " +
                    std::to_string(max_attempts) + " attempts",
                "files keep changing, or another push to the same project is running; "
                "try again");
  }

private:
  // Above this many bytes of files, a push on an uncertain belief (nothing
  // remembered) or a large one first asks for the cluster's manifest.
  static constexpr std::uint64_t probe_unremembered_bytes = 4ULL << 20;
  static constexpr std::uint64_t probe_any_bytes = 256ULL << 20;

  static bool should_probe(bool remembered, const Survey& survey) {
    return survey.send_bytes > (remembered ? probe_any_bytes : probe_unremembered_bytes);
  }

  Survey run_survey(const Target& t, const BaseManifest& base, bool preview) {
    SurveyOptions o;
    o.scan = t.scan;
    o.index_file = t.index_file;
    o.state_file = t.state_file;
    o.allocation_id = m_spec.allocation_id.value_or("");
    o.preview = preview && m_observer != nullptr;
    // The index is saved before anything travels: hashing is not redone if
    // the push fails.
    Survey s = survey_tree(o, base);
    m_files_hashed += s.index.files_hashed;
    if (s.index.corrupt) {
      note("the local index of " + describe(t) + " was corrupt; its files were hashed again");
    }
    return s;
  }

  // What the cluster holds: its digest and manifest text.
  std::pair<std::string, std::string> fetch_manifest(const Target& t) {
    auto r = call_helper(m_remote, m_spec.remote_root, "sync_manifest", {t.remote_target});
    if (r.exit_code != 0 || !util::starts_with(r.out, "digest ")) {
      throw Error(ExitCode::failed, "cannot read the manifest of " + describe(t) + " on " +
                                        m_remote.describe() + ": " + util::trim(r.err));
    }
    std::size_t nl = r.out.find('\n');
    std::string digest = util::trim(r.out.substr(7, nl - 7));
    std::string text = nl == std::string::npos ? std::string() : r.out.substr(nl + 1);
    check_sent(text, digest, "");
    return {digest, std::move(text)};
  }

  // The manifest the cluster sent must hash to the digest it gave.
  static void check_sent(std::string_view text, const std::string& digest,
                         const std::string& hint) {
    if (sha256_hex(text) != digest) {
      throw Error(ExitCode::protocol, "the manifest the cluster sent does not match its digest",
                  hint);
    }
  }

  TargetReport settled(TargetReport report, Survey& survey, int rt_before) {
    report.digest = survey.digest;
    report.files_total = survey.files_total;
    report.bytes_total = survey.bytes_total;
    std::string allocation = m_spec.allocation_id.value_or("");
    // Rewritten only when it says something new.
    if (!m_remembered || m_remembered->first != report.digest ||
        m_remembered->second != allocation) {
      survey.state->commit(report.digest);
    }
    report.round_trips = m_remote.round_trips() - rt_before;
    return report;
  }

  static std::string describe(const Target& t) {
    return t.label.empty() ? std::string("the project") : "rodata '" + t.label + "'";
  }

  void note(const std::string& message) {
    if (m_observer != nullptr) {
      m_observer->note(message);
    }
  }

  ApplyOutcome apply(const Target& t, const Survey& survey, const std::string& expected,
                     const std::string& want) {
    ApplyOutcome out;
    std::string answer;
    std::string errors;
    bool changed = false;
    std::exception_ptr failure;
    const std::uint64_t total = survey.send_bytes;
    std::uint64_t done = 0;
    // Restartable: a helper call may run it twice (the first run's bytes
    // dropped) when it installs the helper on the way.
    auto producer = [&](const remote::StdinWriter& write) {
      done = 0;
      out.files_sent = 0;
      out.bytes_sent = 0;
      changed = false;
      failure = nullptr;
      try {
        TarWriter tar([&](std::string_view bytes) { write(bytes); });
        tar.add_bytes("c/remove", survey.remove);
        tar.add_bytes("c/drop", survey.drop);
        tar.add_bytes("c/add", survey.add);
        for (const auto& e : survey.send) {
          if (!answer.empty()) {
            return; // the cluster answered early (mismatch): stop sending
          }
          const std::string name = "f/" + e.path;
          if (e.kind == EntryKind::directory) {
            tar.add_directory(name, mode_of(e.kind));
          } else if (e.kind == EntryKind::symlink) {
            tar.add_symlink(name, e.link_target);
          } else {
            Sha256Digest sent = tar.add_file(name, t.scan.root / e.path, mode_of(e.kind),
                                             e.mtime_ns / 1000000000, [&](std::uint64_t n) {
                                               done += n;
                                               out.bytes_sent += n;
                                               if (m_observer != nullptr) {
                                                 m_observer->progress(done, total);
                                               }
                                             });
            if (sent != e.sha) {
              changed = true;
              return; // no end marker: the cluster discards the push
            }
          }
          ++out.files_sent;
        }
        tar.add_bytes("c/end", want + "\n");
        tar.finish();
      } catch (const std::exception&) {
        failure = std::current_exception();
      }
    };
    auto result = call_helper_stream(
        m_remote, m_spec.remote_root, "sync_apply", {t.remote_target, expected, want}, producer,
        [&](std::string_view d) { answer.append(d); },
        [&](std::string_view d) {
          if (errors.size() < 4096) {
            errors.append(d);
          }
        });
    if (failure) {
      std::rethrow_exception(failure);
    }
    if (changed) {
      out.answer = Answer::changed_locally;
      return out;
    }
    if (util::starts_with(answer, "mismatch ")) {
      std::size_t nl = answer.find('\n');
      if (nl == std::string::npos) {
        throw Error(ExitCode::protocol, "the cluster sent a truncated manifest");
      }
      out.answer = Answer::mismatch;
      out.digest = util::trim(answer.substr(9, nl - 9));
      out.remote_manifest = answer.substr(nl + 1);
      check_sent(out.remote_manifest, out.digest,
                 "the tree on the cluster may be damaged; remove it to push afresh");
      return out;
    }
    if (result.exit_code != 0 || !util::starts_with(answer, "ok ")) {
      std::string why = util::trim(errors);
      if (util::starts_with(why, "tccp-remote: error: ")) {
        why = why.substr(20);
      }
      if (result.signal) {
        why = "the remote side was killed (SIG" + *result.signal + ")";
      }
      if (why.empty()) {
        why = "exit status " + std::to_string(result.exit_code);
      }
      throw Error(ExitCode::failed,
                  "push of " + describe(t) + " to " + m_remote.describe() + " failed: " + why,
                  "run the push again (the tree on the cluster stays whole meanwhile)");
    }
    std::string got = util::trim(answer.substr(3));
    if (got != want) {
      throw Error(ExitCode::protocol, "the cluster answered digest " + got + ", expected " + want);
    }
    out.answer = Answer::ok;
    out.digest = got;
    return out;
  }

  CountingRemote& m_remote;
  const PushSpec& m_spec;
  PushObserver* m_observer;
  std::size_t m_files_hashed = 0;
  /// The remembered digest and allocation of the target being pushed.
  std::optional<std::pair<std::string, std::string>> m_remembered;
};

ScanOptions tree_scan(const PushSpec& spec, const std::vector<std::string>& rodata) {
  ScanOptions o;
  o.root = spec.project_dir;
  o.excluded.push_back(*project_relative(spec.output));
  o.excluded.insert(o.excluded.end(), rodata.begin(), rodata.end());
  if (spec.env_file) {
    o.env_file = project_relative(*spec.env_file);
  }
  return o;
}

ScanOptions rodata_scan(const PushSpec& spec, const std::string& rel) {
  ScanOptions o;
  o.root = spec.project_dir / rel;
  o.ignore_files = IgnoreFiles::tccp_only;
  return o;
}

std::vector<std::string> normalised_rodata(const PushSpec& spec) {
  std::vector<std::string> out;
  for (const auto& r : spec.rodata) {
    out.push_back(*project_relative(r));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace

PushResult push(remote::Remote& remote, const PushSpec& spec, PushObserver* observer) {
  validate(spec);
  auto start = Clock::now();
  CountingRemote counted(remote);
  fs::path state_dir =
      spec.state_dir.empty() ? project_state_dir(spec.project, spec.project_dir) : spec.state_dir;
  auto rodata = normalised_rodata(spec);
  for (const auto& rel : rodata) {
    std::error_code ec;
    if (!fs::is_directory(spec.project_dir / rel, ec)) {
      throw Error(ExitCode::config, "rodata '" + rel + "' is not a directory in the project",
                  "create it, or remove it from `rodata:` in tccp.yaml");
    }
  }
  Pusher pusher(counted, spec, observer);
  PushResult result;

  Target tree;
  tree.remote_target = project_target(spec.project);
  tree.scan = tree_scan(spec, rodata);
  tree.index_file = state_dir / "index";
  tree.state_file = state_dir / (spec.cluster_key + "-tree.state");
  result.tree = pusher.push_target(tree, &result.first_push);

  for (const auto& rel : rodata) {
    Target t;
    t.label = rel;
    t.remote_target = rodata_target(spec.project, rel);
    t.scan = rodata_scan(spec, rel);
    t.index_file = state_dir / ("index-rodata-" + rodata_key(rel));
    t.state_file = state_dir / (spec.cluster_key + "-rodata-" + rodata_key(rel) + ".state");
    if (spec.allocation_id) {
      auto st = load_remote_state(t.state_file);
      if (st && st->allocation_id == *spec.allocation_id) {
        TargetReport skipped;
        skipped.path = rel;
        skipped.skipped = true;
        skipped.digest = st->digest;
        skipped.remote_tree = spec.remote_root + "/" + t.remote_target + "/tree";
        result.rodata.push_back(skipped);
        continue;
      }
    }
    bool unused = false;
    result.rodata.push_back(pusher.push_target(t, &unused));
  }
  result.round_trips = counted.round_trips();
  result.stream_bytes = counted.bytes_sent();
  result.files_hashed = pusher.files_hashed();
  result.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  return result;
}

std::vector<ListedPath> list_paths(const PushSpec& spec) {
  validate(spec);
  auto rodata = normalised_rodata(spec);
  std::vector<ListedPath> out;
  for (const auto& e : scan_tree(tree_scan(spec, rodata))) {
    if (e.is_content()) {
      out.push_back({e.path, e.kind, e.size, false});
    }
  }
  for (const auto& rel : rodata) {
    for (const auto& e : scan_tree(rodata_scan(spec, rel))) {
      if (e.is_content()) {
        out.push_back({rel + "/" + e.path, e.kind, e.size, true});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ListedPath& a, const ListedPath& b) { return a.path < b.path; });
  return out;
}

} // namespace tccp::sync
