#include "tccp/ssh/session.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "tccp/core/error.hpp"
#include "tccp/ssh/connection.hpp"
#include "tccp/ssh/credentials.hpp"
#include "tccp/ssh/key_file.hpp"
#include "tccp/ssh/known_hosts.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::ssh {

using Clock = std::chrono::steady_clock;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { ::libssh2_init(0); });
}

std::string libssh2_error_text(LIBSSH2_SESSION* session, int rc) {
  char* msg = nullptr;
  int len = 0;
  if (session != nullptr) {
    ::libssh2_session_last_error(session, &msg, &len, 0);
  }
  std::string text = (msg != nullptr && len > 0) ? std::string(msg, static_cast<std::size_t>(len))
                                                 : std::string("libssh2 error");
  return text + " (" + std::to_string(rc) + ")";
}

struct Session::State {
  Target target;
  int fd = -1;
  LIBSSH2_SESSION* s = nullptr;
  std::unique_ptr<Connection> via; // the jump host carrying this connection
  Clock::time_point last_rx = Clock::now();
  std::chrono::system_clock::time_point connected_at{};
  std::chrono::microseconds connect_time{0};
  bool dead = false;

  // Keyboard-interactive round state (the callback reaches it via abstract).
  ConnectContext* ctx = nullptr;
  const Secret* stored_password = nullptr;
  bool stored_password_used = false;
  bool kbd_cancelled = false;
  std::string kbd_unanswered; // the prompt nobody could answer
  std::optional<Secret> typed_password;

  ~State() {
    if (s != nullptr) {
      // Channels are gone by now (the mux frees them); a dead link has its
      // socket shut down, so none of this can block for long.
      ::libssh2_session_set_blocking(s, 1);
      ::libssh2_session_set_timeout(s, dead ? 200 : 2000);
      if (!dead) {
        ::libssh2_session_disconnect(s, "tccp: closing");
      }
      ::libssh2_session_free(s);
      s = nullptr;
    }
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
    via.reset();
  }
};

namespace {

// libssh2 reads the socket through this, so the session knows when the
// server was last heard from (libssh2 itself never counts missed
// keepalive replies).
ssize_t recv_hook(libssh2_socket_t sock, void* buffer, size_t length, int flags, void** abstract) {
  ssize_t r = ::recv(sock, buffer, length, flags);
  if (r < 0) {
    return -errno;
  }
  if (r > 0 && abstract != nullptr && *abstract != nullptr) {
    static_cast<Session::State*>(*abstract)->last_rx = Clock::now();
  }
  return r;
}

std::chrono::milliseconds step_timeout(const Target& t) {
  return std::max<std::chrono::milliseconds>(t.connect_timeout, std::chrono::seconds(30));
}

// Waits for the socket in the direction libssh2 is blocked on, at most
// `timeout`; throws Error(unreachable) when nothing happens.
void wait_socket(Session::State& st, std::chrono::milliseconds timeout, const std::string& what) {
  int dir = ::libssh2_session_block_directions(st.s);
  short events = 0;
  if ((dir & LIBSSH2_SESSION_BLOCK_INBOUND) != 0) {
    events |= POLLIN;
  }
  if ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) {
    events |= POLLOUT;
  }
  if (events == 0) {
    events = POLLIN;
  }
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw Error(ExitCode::unreachable,
                  "timed out waiting for " + st.target.describe() + " (" + what + ")",
                  "check your network; the server did not answer within " +
                      std::to_string(timeout.count() / 1000) + " s");
    }
    pollfd p{st.fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n != 0) {
      return; // ready, or an error libssh2 will report
    }
  }
}

// Calls `f` until it stops saying EAGAIN, waiting on the socket in between.
template <class F> int nb(Session::State& st, const std::string& what, F f) {
  while (true) {
    int rc = f();
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      return rc;
    }
    wait_socket(st, step_timeout(st.target), what);
  }
}

std::string address_text(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  std::string h = host;
  return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + serv;
}

void tune_tcp(int fd, const Target& t) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int idle = static_cast<int>(t.alive_interval.count());
  int count = t.alive_count_max;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  // Keepalives alone never notice a dead network (unacknowledged data is
  // retried for ~15 minutes): give up after the keepalive budget.
  unsigned int user_timeout_ms =
      static_cast<unsigned int>(t.alive_interval.count() * (t.alive_count_max + 1) * 1000);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

int tcp_connect(const Target& t, std::chrono::microseconds& elapsed) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(t.port);
  int gai = ::getaddrinfo(t.hostname.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    throw Error(ExitCode::unreachable,
                "cannot resolve '" + t.hostname + "': " + ::gai_strerror(gai),
                t.alias == t.hostname ? "check the host name (or its Host entry in ~/.ssh/config)"
                                      : "check HostName for '" + t.alias + "' in ~/.ssh/config");
  }
  std::string last_error = "no address";
  std::string last_addr;
  auto deadline = Clock::now() + t.connect_timeout;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    last_addr = address_text(ai->ai_addr, ai->ai_addrlen);
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    auto start = Clock::now();
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (rc != 0) {
      bool done = false;
      while (!done) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
          last_error = "connection timed out";
          break;
        }
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n > 0) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == 0) {
            done = true;
          } else {
            last_error = std::strerror(err);
            break;
          }
        }
      }
      if (!done) {
        ::close(fd);
        continue;
      }
    }
    elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    ::freeaddrinfo(res);
    tune_tcp(fd, t);
    return fd;
  }
  ::freeaddrinfo(res);
  throw Error(ExitCode::unreachable,
              "cannot reach " + t.describe() + " (" + last_addr + "): " + last_error,
              "check your network or VPN; the connect timeout is " +
                  std::to_string(t.connect_timeout.count()) + " s (ConnectTimeout)");
}

std::string human_key_type(const std::string& type) {
  if (type == "ssh-ed25519") {
    return "ED25519";
  }
  if (util::starts_with(type, "ecdsa-")) {
    return "ECDSA";
  }
  if (type == "ssh-rsa") {
    return "RSA";
  }
  if (type == "ssh-dss") {
    return "DSA";
  }
  return type;
}

const std::vector<std::string>& supported_host_key_types() {
  static const std::vector<std::string> types{"ssh-ed25519", "ecdsa-sha2-nistp256",
                                              "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                              "ssh-rsa"};
  return types;
}

KnownHosts load_known_hosts(const Target& t) {
  KnownHosts kh;
  for (const auto& f : t.known_hosts_files) {
    kh.load(f);
  }
  return kh;
}

int host_key_port(const Target& t) {
  return t.host_key_alias ? 22 : t.port;
}

void handshake(Session::State& st) {
  const Target& t = st.target;
  st.s = ::libssh2_session_init_ex(nullptr, nullptr, nullptr, &st);
  if (st.s == nullptr) {
    throw Error(ExitCode::internal, "cannot create an SSH session (libssh2)");
  }
  ::libssh2_session_set_blocking(st.s, 0);
  ::libssh2_session_callback_set(st.s, LIBSSH2_CALLBACK_RECV, reinterpret_cast<void*>(&recv_hook));
  // Prefer the key types already on record for this host (as OpenSSH
  // does), ed25519 first otherwise: OpenSSH clients record ed25519, and
  // libssh2 would pick ecdsa by default.
  KnownHosts kh = load_known_hosts(t);
  std::vector<std::string> order = kh.known_types(t.host_key_name(), host_key_port(t));
  std::erase_if(order, [](const std::string& k) {
    const auto& sup = supported_host_key_types();
    return std::find(sup.begin(), sup.end(), k) == sup.end();
  });
  std::stable_sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
    const auto& sup = supported_host_key_types();
    return std::find(sup.begin(), sup.end(), a) < std::find(sup.begin(), sup.end(), b);
  });
  for (const auto& k : supported_host_key_types()) {
    if (std::find(order.begin(), order.end(), k) == order.end()) {
      order.push_back(k);
    }
  }
  std::string pref = util::join(order, ",");
  ::libssh2_session_method_pref(st.s, LIBSSH2_METHOD_HOSTKEY, pref.c_str());
  int rc = nb(st, "key exchange", [&] { return ::libssh2_session_handshake(st.s, st.fd); });
  if (rc == LIBSSH2_ERROR_KEX_FAILURE) {
    throw Error(ExitCode::auth,
                "cannot agree on algorithms with " + t.describe() + ": " +
                    libssh2_error_text(st.s, rc),
                "the server must offer an ed25519 or ecdsa host key (RSA-only servers cannot be "
                "used with tccp's SSH library)");
  }
  if (rc != 0) {
    throw Error(ExitCode::unreachable,
                "SSH handshake with " + t.describe() + " failed: " + libssh2_error_text(st.s, rc),
                "is " + t.hostname + ":" + std::to_string(t.port) + " an SSH server?");
  }
}

void verify_host_key(Session::State& st, ConnectContext& ctx) {
  const Target& t = st.target;
  std::size_t len = 0;
  int type = 0;
  const char* key = ::libssh2_session_hostkey(st.s, &len, &type);
  if (key == nullptr || len == 0) {
    throw Error(ExitCode::auth, "the server " + t.describe() + " sent no host key");
  }
  std::string blob(key, len);
  std::string key_type = key_type_of_blob(blob);
  std::string fp = fingerprint_sha256(blob);
  std::string name = t.host_key_name();
  int port = host_key_port(t);
  std::string shown = known_hosts_name(name, port);
  KnownHosts kh = load_known_hosts(t);
  HostKeyCheck check = kh.check(name, port, blob);
  switch (check.status) {
  case HostKeyStatus::match: return;
  case HostKeyStatus::revoked:
    throw Error(ExitCode::auth,
                "the host key of '" + shown + "' (" + fp + ") is marked @revoked in " + check.file +
                    ":" + std::to_string(check.line),
                "ask the cluster's admins for the current host key");
  case HostKeyStatus::mismatch:
    throw Error(ExitCode::auth,
                "host key for '" + shown + "' has CHANGED: " + check.file + ":" +
                    std::to_string(check.line) + " records " + check.known_fingerprint +
                    ", the server sent " + fp + " (" + human_key_type(key_type) + ")",
                "someone may be intercepting the connection, or the cluster's key was "
                "replaced; if its admins confirm " +
                    fp + ", remove the old key with: ssh-keygen -R '" + shown + "' -f " +
                    check.file);
  case HostKeyStatus::other_type:
  case HostKeyStatus::unknown: break;
  }
  std::string note;
  if (check.status == HostKeyStatus::other_type) {
    note = "\nKeys of another type (" + util::join(check.known_types, ", ") +
           ") are already known for this host.";
  }
  std::string record_in = t.tccp_known_hosts;
  if (ctx.host_keys == HostKeyPolicy::accept_new && !record_in.empty()) {
    append_known_host(record_in, name, port, blob);
    if (ctx.info) {
      ctx.info("Permanently added '" + shown + "' (" + human_key_type(key_type) + " " + fp +
               ") to " + record_in);
    }
    return;
  }
  if (ctx.host_keys == HostKeyPolicy::ask && ctx.prompter != nullptr &&
      ctx.prompter->on_terminal() && !record_in.empty()) {
    ctx.prompter->show("The authenticity of host '" + shown + "' can't be established.\n" +
                       human_key_type(key_type) + " key fingerprint is " + fp + "." + note);
    if (ctx.prompter->confirm("Are you sure you want to continue connecting (yes/no)? ")) {
      append_known_host(record_in, name, port, blob);
      ctx.prompter->show("Permanently added '" + shown + "' (" + human_key_type(key_type) +
                         ") to " + record_in + ".");
      return;
    }
    throw Error(ExitCode::auth, "host key verification for '" + shown + "' declined");
  }
  throw Error(ExitCode::auth,
              "the host key of '" + shown + "' is not known: " + human_key_type(key_type) +
                  " key fingerprint " + fp,
              "check the fingerprint with the cluster's admins, then trust it on a terminal "
              "with 'tccp setup', or with 'tccp-connect start --accept-new'");
}

// ---- authentication ---------------------------------------------------------

bool mentions_password(std::string_view prompt) {
  return util::to_lower(prompt).find("password") != std::string::npos;
}

void kbd_callback(const char* name, int name_len, const char* instruction, int instruction_len,
                  int num_prompts, const LIBSSH2_USERAUTH_KBDINT_PROMPT* prompts,
                  LIBSSH2_USERAUTH_KBDINT_RESPONSE* responses, void** abstract) {
  auto* st = static_cast<Session::State*>(*abstract);
  // No exception may cross libssh2's C frames: every failure becomes an
  // empty answer plus a note read after the call.
  try {
    Prompter* prompter = st->ctx != nullptr ? st->ctx->prompter : nullptr;
    std::string header;
    if (name_len > 0) {
      header.append(name, static_cast<std::size_t>(name_len));
    }
    if (instruction_len > 0) {
      if (!header.empty()) {
        header.push_back('\n');
      }
      header.append(instruction, static_cast<std::size_t>(instruction_len));
    }
    if (!header.empty() && num_prompts > 0 && prompter != nullptr) {
      prompter->show(header);
    }
    for (int i = 0; i < num_prompts; ++i) {
      std::string text(prompts[i].text, prompts[i].length);
      std::optional<Secret> answer;
      bool is_password = mentions_password(text);
      if (is_password && st->stored_password != nullptr && !st->stored_password_used) {
        answer = *st->stored_password;
        st->stored_password_used = true;
      } else if (prompter != nullptr && prompter->can_ask()) {
        answer = prompter->ask(text, prompts[i].echo != 0 ? Echo::on : Echo::off);
        if (answer && is_password && st->ctx->capture_password) {
          st->typed_password = *answer;
        }
      }
      if (!answer) {
        st->kbd_cancelled = true;
        st->kbd_unanswered = text;
        answer = Secret();
      }
      const std::string& v = answer->value();
      // libssh2 frees each answer with free(): it must come from malloc.
      auto* copy =
          static_cast<char*>(std::malloc(v.size() + 1)); // NOLINT(cppcoreguidelines-no-malloc)
      if (copy != nullptr) {
        std::memcpy(copy, v.data(), v.size());
        copy[v.size()] = '\0';
      }
      responses[i].text = copy;
      responses[i].length = copy != nullptr ? static_cast<unsigned int>(v.size()) : 0;
    }
  } catch (const std::exception&) {
    st->kbd_cancelled = true;
  }
}

enum class Outcome { success, partial, failed };

class Authenticator {
public:
  Authenticator(Session::State& st, ConnectContext& ctx) : m_st(st), m_ctx(ctx), m_t(st.target) {
    if (ctx.credentials != nullptr && m_t.password) {
      m_stored = ctx.credentials->load_password(m_t.account());
    }
  }

  void run() {
    std::string methods = list();
    if (methods.empty() && ::libssh2_userauth_authenticated(m_st.s) != 0) {
      return; // "none" was enough
    }
    std::vector<std::string> order = m_t.preferred_auth;
    if (order.empty()) {
      order = {"publickey", "keyboard-interactive", "password"};
    }
    std::vector<std::string> done;
    while (true) {
      m_offered = methods;
      auto offered = util::split(methods, ',');
      bool restarted = false;
      for (const auto& m : order) {
        if (std::find(offered.begin(), offered.end(), m) == offered.end() ||
            std::find(done.begin(), done.end(), m) != done.end() || !enabled(m)) {
          continue;
        }
        m_tried.push_back(m);
        Outcome o = attempt(m);
        done.push_back(m);
        if (o == Outcome::success) {
          return;
        }
        if (o == Outcome::partial) {
          methods = list();
          done.clear();
          done.push_back(m);
          restarted = true;
          break;
        }
      }
      if (!restarted) {
        break;
      }
    }
    fail();
  }

private:
  bool enabled(const std::string& m) const {
    if (m == "publickey") {
      return m_t.pubkey;
    }
    if (m == "keyboard-interactive") {
      return m_t.kbd_interactive;
    }
    if (m == "password") {
      return m_t.password;
    }
    return false;
  }

  std::string list() {
    while (true) {
      char* l = ::libssh2_userauth_list(m_st.s, m_t.user.c_str(),
                                        static_cast<unsigned int>(m_t.user.size()));
      if (l != nullptr) {
        return l;
      }
      int err = ::libssh2_session_last_errno(m_st.s);
      if (err == LIBSSH2_ERROR_EAGAIN) {
        wait_socket(m_st, step_timeout(m_t), "authentication");
        continue;
      }
      if (::libssh2_userauth_authenticated(m_st.s) != 0) {
        return {};
      }
      throw Error(ExitCode::unreachable, "lost " + m_t.describe() + " during authentication: " +
                                             libssh2_error_text(m_st.s, err));
    }
  }

  // A failure that changed the list of methods the server still wants was
  // a partial success (libssh2 1.10 reports it as an error).
  Outcome after_failure() {
    std::string now;
    try {
      now = list();
    } catch (const Error& e) {
      if (e.code() != ExitCode::unreachable) {
        throw;
      }
      // sshd hangs up after too many failures: that is still a refusal.
      m_notes.push_back("the server closed the connection after the failed attempts");
      fail();
    }
    if (now.empty() && ::libssh2_userauth_authenticated(m_st.s) != 0) {
      return Outcome::success;
    }
    return now != m_offered ? Outcome::partial : Outcome::failed;
  }

  bool can_retry() const { return m_ctx.prompter != nullptr && m_ctx.prompter->on_terminal(); }

  Outcome attempt(const std::string& m) {
    if (m == "publickey") {
      return publickey();
    }
    if (m == "keyboard-interactive") {
      return keyboard_interactive();
    }
    return password();
  }

  Outcome publickey() {
    if (!m_t.identities_only) {
      Outcome o = agent();
      if (o != Outcome::failed) {
        return o;
      }
    }
    std::vector<std::string> files = m_t.identity_files;
    bool defaults = files.empty();
    if (defaults) {
      auto dir = util::home_dir() / ".ssh";
      for (const char* n : {"id_ed25519", "id_ecdsa", "id_rsa", "id_dsa"}) {
        files.push_back((dir / n).string());
      }
    }
    for (const auto& f : files) {
      auto info = inspect_key_file(f);
      if (!info) {
        if (!defaults) {
          m_notes.push_back("identity file " + f + " does not exist");
        }
        continue;
      }
      if (!info->problem.empty()) {
        m_notes.push_back(f + " skipped: " + info->problem);
        if (!info->fix.empty()) {
          m_fixes.push_back(info->fix);
        }
        continue;
      }
      Outcome o = key_file(f, *info);
      if (o != Outcome::failed) {
        return o;
      }
    }
    return Outcome::failed;
  }

  Outcome agent() {
    const char* sock = std::getenv("SSH_AUTH_SOCK");
    if (sock == nullptr || *sock == '\0') {
      return Outcome::failed;
    }
    LIBSSH2_AGENT* agent = ::libssh2_agent_init(m_st.s);
    if (agent == nullptr) {
      return Outcome::failed;
    }
    struct Free {
      LIBSSH2_AGENT* a;
      ~Free() {
        ::libssh2_agent_disconnect(a);
        ::libssh2_agent_free(a);
      }
    } guard{agent};
    if (::libssh2_agent_connect(agent) != 0) {
      m_notes.push_back("the ssh-agent at SSH_AUTH_SOCK did not answer");
      return Outcome::failed;
    }
    if (::libssh2_agent_list_identities(agent) != 0) {
      m_notes.push_back("the ssh-agent did not list its keys");
      return Outcome::failed;
    }
    libssh2_agent_publickey* id = nullptr;
    libssh2_agent_publickey* prev = nullptr;
    while (::libssh2_agent_get_identity(agent, &id, prev) == 0) {
      prev = id;
      std::string blob(reinterpret_cast<const char*>(id->blob), id->blob_len);
      std::string type = key_type_of_blob(blob);
      std::string label = (id->comment != nullptr && *id->comment != '\0')
                              ? std::string(id->comment)
                              : fingerprint_sha256(blob);
      if (type == "ssh-rsa" || type == "ssh-dss") {
        m_notes.push_back("agent key '" + label + "' skipped: " + rsa_key_problem());
        m_fixes.push_back(rsa_key_fix());
        continue;
      }
      int rc = nb(m_st, "agent authentication",
                  [&] { return ::libssh2_agent_userauth(agent, m_t.user.c_str(), id); });
      if (rc == 0) {
        return Outcome::success;
      }
      if (rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED) {
        Outcome o = after_failure();
        if (o != Outcome::failed) {
          return o;
        }
        continue;
      }
      if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND ||
          rc == LIBSSH2_ERROR_SOCKET_DISCONNECT) {
        throw Error(ExitCode::unreachable, "lost " + m_t.describe() + " during authentication: " +
                                               libssh2_error_text(m_st.s, rc));
      }
    }
    return Outcome::failed;
  }

  Outcome key_file(const std::string& path, const KeyFileInfo& info) {
    std::string pub = path + ".pub";
    bool have_pub = std::filesystem::exists(pub);
    int tries = info.encrypted ? (can_retry() ? 3 : 1) : 1;
    for (int i = 0; i < tries; ++i) {
      Secret passphrase;
      if (info.encrypted) {
        auto answer =
            m_ctx.prompter != nullptr
                ? m_ctx.prompter->ask("Enter passphrase for key '" + path + "': ", Echo::off)
                : std::nullopt;
        if (!answer) {
          m_notes.push_back(
              path + " needs its passphrase, and " +
              (m_ctx.prompter != nullptr ? m_ctx.prompter->describe() : std::string("nothing")) +
              " could not provide it");
          return Outcome::failed;
        }
        passphrase = std::move(*answer);
      }
      int rc = nb(m_st, "public key authentication", [&] {
        return ::libssh2_userauth_publickey_fromfile_ex(
            m_st.s, m_t.user.c_str(), static_cast<unsigned int>(m_t.user.size()),
            have_pub ? pub.c_str() : nullptr, path.c_str(), passphrase.value().c_str());
      });
      if (rc == 0) {
        return Outcome::success;
      }
      if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
        if (rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
          Outcome o = after_failure();
          if (o != Outcome::failed) {
            return o;
          }
          m_notes.push_back("the server refused key " + path);
          return Outcome::failed;
        }
        if (info.encrypted) {
          if (m_ctx.prompter != nullptr) {
            m_ctx.prompter->show("Wrong passphrase for " + path + ".");
          }
          m_notes.push_back("wrong passphrase for " + path);
          continue;
        }
        m_notes.push_back("cannot use " + path + ": " + libssh2_error_text(m_st.s, rc));
        return Outcome::failed;
      }
      if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED) {
        Outcome o = after_failure();
        if (o == Outcome::failed) {
          m_notes.push_back("the server refused key " + path);
        }
        return o;
      }
      throw Error(ExitCode::unreachable, "lost " + m_t.describe() + " during authentication: " +
                                             libssh2_error_text(m_st.s, rc));
    }
    return Outcome::failed;
  }

  Outcome keyboard_interactive() {
    int tries = can_retry() ? 3 : 1;
    if (m_stored && !m_stored_rejected && !can_retry()) {
      tries = 1;
    }
    for (int i = 0; i < tries; ++i) {
      m_st.ctx = &m_ctx;
      m_st.stored_password = (m_stored && !m_stored_rejected) ? &*m_stored : nullptr;
      m_st.stored_password_used = false;
      m_st.kbd_cancelled = false;
      m_st.typed_password.reset();
      int rc = nb(m_st, "keyboard-interactive authentication", [&] {
        return ::libssh2_userauth_keyboard_interactive_ex(
            m_st.s, m_t.user.c_str(), static_cast<unsigned int>(m_t.user.size()), kbd_callback);
      });
      m_st.ctx = nullptr;
      bool used_stored = m_st.stored_password_used;
      m_st.stored_password = nullptr;
      if (rc == 0) {
        capture(std::move(m_st.typed_password));
        return Outcome::success;
      }
      if (m_st.kbd_cancelled) {
        m_notes.push_back(
            "the server asked '" + util::trim(m_st.kbd_unanswered) + "', and " +
            (m_ctx.prompter != nullptr ? m_ctx.prompter->describe() : std::string("nothing")) +
            " could not answer");
        m_cancelled = true;
        return Outcome::failed;
      }
      if (rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED) {
        throw Error(ExitCode::unreachable, "lost " + m_t.describe() + " during authentication: " +
                                               libssh2_error_text(m_st.s, rc));
      }
      Outcome o = after_failure();
      if (o != Outcome::failed) {
        capture(std::move(m_st.typed_password));
        return o;
      }
      if (used_stored) {
        m_stored_rejected = true;
        m_notes.push_back("the stored password was rejected");
      } else {
        m_notes.push_back("the server rejected the answers (wrong password or verification "
                          "code?)");
      }
      if (m_ctx.prompter != nullptr && m_ctx.prompter->on_terminal() && i + 1 < tries) {
        m_ctx.prompter->show("Permission denied, please try again.");
      }
      if (used_stored && !can_retry() && m_ctx.prompter != nullptr && m_ctx.prompter->can_ask()) {
        ++tries; // once more, asking instead of the stored password
      }
    }
    return Outcome::failed;
  }

  Outcome password() {
    int tries = can_retry() ? 3 : 1;
    for (int i = 0; i < tries; ++i) {
      Secret pw;
      bool from_store = false;
      if (m_stored && !m_stored_rejected) {
        pw = *m_stored;
        from_store = true;
      } else {
        auto answer =
            m_ctx.prompter != nullptr
                ? m_ctx.prompter->ask(m_t.user + "@" + m_t.hostname + "'s password: ", Echo::off)
                : std::nullopt;
        if (!answer) {
          m_notes.push_back(
              "password authentication needs a password, and " +
              (m_ctx.prompter != nullptr ? m_ctx.prompter->describe() : std::string("nothing")) +
              " could not provide it");
          m_cancelled = true;
          return Outcome::failed;
        }
        pw = std::move(*answer);
      }
      int rc = nb(m_st, "password authentication", [&] {
        return ::libssh2_userauth_password_ex(
            m_st.s, m_t.user.c_str(), static_cast<unsigned int>(m_t.user.size()),
            pw.value().c_str(), static_cast<unsigned int>(pw.value().size()), nullptr);
      });
      if (rc == 0) {
        if (!from_store && m_ctx.capture_password) {
          capture(pw);
        }
        return Outcome::success;
      }
      if (rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED && rc != LIBSSH2_ERROR_PASSWORD_EXPIRED) {
        throw Error(ExitCode::unreachable, "lost " + m_t.describe() + " during authentication: " +
                                               libssh2_error_text(m_st.s, rc));
      }
      Outcome o = after_failure();
      if (o != Outcome::failed) {
        return o;
      }
      if (from_store) {
        m_stored_rejected = true;
        m_notes.push_back("the stored password was rejected");
        ++tries;
      } else {
        m_notes.push_back("wrong password");
        if (m_ctx.prompter != nullptr && m_ctx.prompter->on_terminal() && i + 1 < tries) {
          m_ctx.prompter->show("Permission denied, please try again.");
        }
      }
    }
    return Outcome::failed;
  }

  void capture(std::optional<Secret> pw) {
    if (pw && m_ctx.capture_password) {
      m_ctx.captured_password = std::move(pw);
    }
  }

  [[noreturn]] void fail() {
    std::string msg = "permission denied for " + m_t.describe();
    if (!m_tried.empty()) {
      msg += " (tried " + util::join(m_tried, ", ") + ")";
    } else {
      msg += " (the server offers " + (m_offered.empty() ? std::string("nothing") : m_offered) +
             ", none of which is enabled)";
    }
    // Keep the notes short and unique.
    std::vector<std::string> notes;
    for (const auto& n : m_notes) {
      if (std::find(notes.begin(), notes.end(), n) == notes.end()) {
        notes.push_back(n);
      }
    }
    if (!notes.empty()) {
      msg += ": " + util::join(notes, "; ");
    }
    std::string hint;
    if (!m_fixes.empty()) {
      hint = m_fixes.front();
    } else if (m_cancelled) {
      hint = "run this on a terminal, or name an askpass program (profile 'askpass', "
             "TCCP_ASKPASS or SSH_ASKPASS) that answers the prompts";
    } else {
      hint = "check the user name (" + m_t.user + ") and your key, password or code";
    }
    throw Error(ExitCode::auth, msg, hint);
  }

  Session::State& m_st;
  ConnectContext& m_ctx;
  const Target& m_t;
  std::optional<Secret> m_stored;
  bool m_stored_rejected = false;
  bool m_cancelled = false;
  std::string m_offered;
  std::vector<std::string> m_tried;
  std::vector<std::string> m_notes;
  std::vector<std::string> m_fixes;
};

} // namespace

Session::Session() : m(std::make_unique<State>()) {}
Session::~Session() = default;

std::unique_ptr<Session> Session::connect(const Target& target, ConnectContext& ctx) {
  init_library();
  if (!target.jumps.empty()) {
    // Every hop is a full connection of its own (host key checked, same
    // policy), whose loop thread carries a direct-tcpip channel to the next.
    std::unique_ptr<Connection> via;
    for (const auto& hop : target.jumps) {
      std::unique_ptr<Session> hs;
      if (!via) {
        hs = connect(hop, ctx);
      } else {
        int fd = via->open_forward(hop.hostname, hop.port);
        hs = connect_over(fd, hop, ctx);
        hs->m->via = std::move(via);
      }
      via = std::make_unique<Connection>(std::move(hs), MuxOptions{});
    }
    int fd = via->open_forward(target.hostname, target.port);
    auto s = connect_over(fd, target, ctx);
    s->m->via = std::move(via);
    return s;
  }
  std::unique_ptr<Session> session(new Session());
  State& st = *session->m;
  st.target = target;
  st.fd = tcp_connect(target, st.connect_time);
  handshake(st);
  verify_host_key(st, ctx);
  Authenticator(st, ctx).run();
  st.connected_at = std::chrono::system_clock::now();
  ::libssh2_keepalive_config(st.s, 1, static_cast<unsigned>(target.alive_interval.count()));
  return session;
}

std::unique_ptr<Session> Session::connect_over(int fd, const Target& target, ConnectContext& ctx) {
  init_library();
  std::unique_ptr<Session> session(new Session());
  State& st = *session->m;
  st.target = target;
  st.fd = fd;
  handshake(st);
  verify_host_key(st, ctx);
  Authenticator(st, ctx).run();
  st.connected_at = std::chrono::system_clock::now();
  ::libssh2_keepalive_config(st.s, 1, static_cast<unsigned>(target.alive_interval.count()));
  return session;
}

LIBSSH2_SESSION* Session::raw() const {
  return m->s;
}
int Session::fd() const {
  return m->fd;
}
const Target& Session::target() const {
  return m->target;
}
std::chrono::system_clock::time_point Session::connected_at() const {
  return m->connected_at;
}
std::chrono::microseconds Session::connect_time() const {
  return m->connect_time;
}
std::chrono::steady_clock::time_point Session::last_received() const {
  return m->last_rx;
}

void Session::kill_transport() {
  m->dead = true;
  if (m->fd >= 0) {
    ::shutdown(m->fd, SHUT_RDWR);
  }
}

} // namespace tccp::ssh
