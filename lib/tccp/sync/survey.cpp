#include "tccp/sync/survey.hpp"

#include "tccp/core/error.hpp"
#include "tccp/sync/manifest.hpp"
#include "tccp/util/fs.hpp"

namespace tccp::sync {

namespace fs = std::filesystem;

BaseManifest BaseManifest::remembered(fs::path state_file, RemoteState head) {
  BaseManifest b;
  b.m_source = Source::remembered;
  b.m_state_file = std::move(state_file);
  b.m_head = std::move(head);
  return b;
}

BaseManifest BaseManifest::sent(std::string text) {
  BaseManifest b;
  b.m_source = Source::sent;
  b.m_text = std::make_shared<const std::string>(std::move(text));
  return b;
}

// The lines of a base manifest, one at a time, checked as they come: each
// a well-formed line (those that differ from the tree's are split), in
// strictly ascending order.
class BaseReader {
public:
  struct Line {
    std::string_view text; ///< without the newline
    std::string_view escaped_path;
    std::uint64_t start = 0; ///< where it is in the state file
    std::uint64_t end = 0;
  };

  explicit BaseReader(const BaseManifest& base) : m_base(base) {
    if (base.m_source == BaseManifest::Source::sent) {
      m_rest = *base.m_text;
    } else if (base.m_source == BaseManifest::Source::remembered) {
      m_in = std::make_unique<util::LineReader>(base.m_state_file);
      auto head = m_in->is_open() ? read_remote_state_head(*m_in) : std::nullopt;
      if (!head || head->digest != base.m_head.digest ||
          head->allocation_id != base.m_head.allocation_id) {
        m_damaged = true;
        return;
      }
      m_body = m_in->offset();
    }
    advance();
  }

  const Line* current() const { return m_have ? &m_line : nullptr; }

  void advance() {
    m_have = false;
    if (m_damaged) {
      return;
    }
    std::string_view text;
    if (m_in) {
      bool terminated = false;
      if (!m_in->next(&text, &terminated)) {
        return;
      }
      if (!terminated) {
        return fail();
      }
      m_line.start = m_in->line_offset();
      m_line.end = m_in->offset();
    } else {
      if (m_rest.empty()) {
        return;
      }
      std::size_t nl = m_rest.find('\n');
      if (nl == std::string_view::npos) {
        return fail();
      }
      text = m_rest.substr(0, nl);
      m_rest.remove_prefix(nl + 1);
    }
    std::size_t tab = text.find('\t');
    if (tab == std::string_view::npos || tab == 0) {
      return fail();
    }
    std::string_view escaped = text.substr(0, tab);
    if (!m_prev.empty() && !(m_prev < escaped)) {
      return fail();
    }
    m_prev.assign(escaped);
    m_line.text = text;
    m_line.escaped_path = escaped;
    m_have = true;
  }

  /// The current line is not well-formed (its path unescapable, say).
  void fail() {
    if (m_base.m_source == BaseManifest::Source::sent) {
      throw Error(ExitCode::protocol, "the manifest the cluster sent is malformed",
                  "the tree on the cluster may be damaged; remove it to push afresh");
    }
    m_damaged = true;
    m_have = false;
  }

  /// Where the remembered manifest starts in the state file, when its lines
  /// can be kept in the new one.
  std::optional<std::uint64_t> body() const {
    return m_in && !m_damaged ? std::optional(m_body) : std::nullopt;
  }
  bool damaged() const { return m_damaged; }
  bool remembered() const { return m_base.m_source == BaseManifest::Source::remembered; }
  const std::string& expected_digest() const { return m_base.m_head.digest; }

private:
  const BaseManifest& m_base;
  std::unique_ptr<util::LineReader> m_in; ///< the state file
  std::string_view m_rest;                ///< what is left of a sent text
  std::uint64_t m_body = 0;
  Line m_line;
  std::string m_prev; ///< the escaped path of the line before
  bool m_have = false;
  bool m_damaged = false;
};

namespace {

// Walks the tree once, in manifest order.
class Surveyor {
public:
  Surveyor(const SurveyOptions& options, const BaseManifest& base)
      : m_options(options), m_index(options.index_file, options.scan.root), m_base(base) {
    m_out.state =
        std::make_unique<StateDraft>(options.state_file, options.allocation_id, m_base.body());
  }

  Survey run() {
    scan_tree(m_options.scan, [&](Entry&& e) { visit(std::move(e)); });
    while (const auto* b = m_base.current()) {
      base_only(*b);
    }
    m_out.digest = m_digest.hex_digest();
    m_out.index = m_index.finish();
    if (m_base.remembered()) {
      std::string base_digest = m_base_digest ? m_base_digest->hex_digest() : m_out.digest;
      if (m_base.damaged() || base_digest != m_base.expected_digest()) {
        set_aside_remote_state(m_options.state_file);
        m_out.base_corrupt = true;
      }
    }
    if (m_preview) {
      m_out.preview = m_preview->finish();
    }
    return std::move(m_out);
  }

private:
  void visit(Entry&& e) {
    m_escaped.clear();
    append_escaped(m_escaped, e.path);
    Sha256Digest sha{};
    if (e.is_content()) {
      sha = m_index.hash(m_escaped, e);
      ++m_out.files_total;
      m_out.bytes_total += e.size;
    }
    if (m_preview) {
      m_preview->add(e.path, e.kind, e.size);
    }
    m_line.clear();
    append_manifest_line(m_line, e.path, e.kind, sha);
    m_line += '\n';
    const std::string_view line_nl = m_line;
    const std::string_view line = line_nl.substr(0, line_nl.size() - 1);
    // The base's paths before this one are gone.
    while (m_base.current() != nullptr && m_base.current()->escaped_path < m_escaped) {
      base_only(*m_base.current());
    }
    const BaseReader::Line* b = m_base.current();
    bool in_base = b != nullptr && b->escaped_path == m_escaped;
    if (in_base && b->text == line) {
      // Unchanged.
      if (m_base_digest) {
        m_base_digest->update(b->text);
        m_base_digest->update("\n");
      }
      if (!m_out.state->keep(b->start, b->end)) {
        m_out.state->write(line_nl);
      }
      m_base.advance();
    } else {
      diverged();
      if (in_base) {
        // Replaced: what the cluster has there goes, first.
        check_base_line(b->text);
        m_base_digest->update(b->text);
        m_base_digest->update("\n");
        gone(e.path, m_escaped);
        m_base.advance();
      }
      m_out.state->write(line_nl);
      m_out.add += line_nl;
      m_out.send_bytes += e.size;
      SendItem s;
      s.path = std::move(e.path);
      s.kind = e.kind;
      s.size = e.size;
      s.mtime_ns = e.mtime_ns;
      s.sha = sha;
      s.link_target = std::move(e.link_target);
      m_out.send.push_back(std::move(s));
    }
    m_digest.update(line_nl);
  }

  // A path of the base that the tree does not have.
  void base_only(const BaseReader::Line& b) {
    diverged();
    check_base_line(b.text);
    m_base_digest->update(b.text);
    m_base_digest->update("\n");
    std::string raw;
    try {
      raw = unescape_path(b.escaped_path);
    } catch (const Error&) {
      m_base.fail();
      return;
    }
    gone(raw, b.escaped_path);
    ++m_out.deleted;
    m_base.advance();
  }

  void check_base_line(std::string_view text) {
    if (!is_manifest_line(text)) {
      m_base.fail();
    }
  }

  void gone(std::string_view raw, std::string_view escaped) {
    m_out.remove += raw;
    m_out.remove += '\0';
    m_out.drop += escaped;
    m_out.drop += '\n';
  }

  // From the first difference on, the base's lines are hashed on their own
  // (until then they are the tree's): its digest is checked at the end.
  void diverged() {
    if (!m_base_digest) {
      m_base_digest.emplace(m_digest);
    }
  }

  const SurveyOptions& m_options;
  IndexPass m_index;
  BaseReader m_base;
  Survey m_out;
  Sha256 m_digest;
  std::optional<Sha256> m_base_digest;
  std::optional<PreviewBuilder> m_preview =
      m_options.preview ? std::optional<PreviewBuilder>(std::in_place) : std::nullopt;
  std::string m_escaped; ///< of the entry being visited
  std::string m_line;    ///< its manifest line
};

} // namespace

Survey survey_tree(const SurveyOptions& options, const BaseManifest& base) {
  return Surveyor(options, base).run();
}

} // namespace tccp::sync
