#include "tccp/remote/helper.hpp"

#include "tccp/core/error.hpp"
#include "tccp/generated/remote_helper.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::remote {

std::string remote_path_word(std::string_view path) {
  if (path == "~") {
    return "\"$HOME\"";
  }
  if (util::starts_with(path, "~/")) {
    return "\"$HOME\"/" + util::shell_quote(path.substr(2));
  }
  return util::shell_quote(path);
}

namespace {
std::string joined(std::string_view root, std::string_view rest) {
  std::string r(root);
  while (r.size() > 1 && r.back() == '/') {
    r.pop_back();
  }
  return r + "/" + std::string(rest);
}
} // namespace

std::string helper_path_word(std::string_view remote_root) {
  return remote_path_word(
      joined(remote_root, "bin/tccp-remote-" + std::string(generated::remote_helper_hash)));
}

std::string helper_command(std::string_view remote_root, const std::string& command,
                           const std::vector<std::string>& args) {
  std::string h = helper_path_word(remote_root);
  std::string line = "test -x " + h + " || exit " + std::to_string(helper_missing_exit) +
                     "; exec " + h + " " + remote_path_word(remote_root) + " " +
                     util::shell_quote(command);
  for (const auto& a : args) {
    line += " " + util::shell_quote(a);
  }
  return line;
}

std::string helper_install_command(std::string_view remote_root) {
  std::string bin = remote_path_word(joined(remote_root, "bin"));
  std::string name = "tccp-remote-" + std::string(generated::remote_helper_hash);
  std::string tmp = remote_path_word(joined(remote_root, "bin/." + name)) + ".$$";
  std::string final_path = helper_path_word(remote_root);
  return "umask 077 && mkdir -p " + bin + " && cat > " + tmp + " && chmod 700 " + tmp +
         " && mv -f " + tmp + " " + final_path;
}

void install_helper(Remote& remote, std::string_view remote_root) {
  ExecResult r = remote.run(helper_install_command(remote_root), generated::remote_helper_script);
  if (r.exit_code != 0) {
    throw Error(ExitCode::refused,
                "cannot install the tccp helper under " + std::string(remote_root) + " on " +
                    remote.describe() + ": " + util::trim(r.err),
                "check that the cluster's tccp root is writable (profile remote_root)");
  }
}

ExecResult call_helper(Remote& remote, std::string_view remote_root, const std::string& command,
                       const std::vector<std::string>& args, std::string_view stdin_data,
                       const ExecOptions& options) {
  std::string line = helper_command(remote_root, command, args);
  ExecResult r = remote.run(line, stdin_data, options);
  if (r.exit_code == helper_missing_exit && r.out.empty() && !r.signal) {
    install_helper(remote, remote_root);
    r = remote.run(line, stdin_data, options);
  }
  return r;
}

ExecResult call_helper_stream(Remote& remote, std::string_view remote_root,
                              const std::string& command, const std::vector<std::string>& args,
                              const Producer& producer, const Sink& on_stdout,
                              const Sink& on_stderr, const ExecOptions& options) {
  std::string line = helper_command(remote_root, command, args);
  // The helper writes nothing before it runs, so output means it ran.
  bool any_output = false;
  Sink out = [&](std::string_view d) {
    any_output = true;
    on_stdout(d);
  };
  Sink err = [&](std::string_view d) {
    any_output = true;
    on_stderr(d);
  };
  ExecResult r = remote.stream(line, producer, out, err, options);
  if (r.exit_code == helper_missing_exit && !any_output && !r.signal) {
    install_helper(remote, remote_root);
    r = remote.stream(line, producer, on_stdout, on_stderr, options);
  }
  return r;
}

} // namespace tccp::remote
