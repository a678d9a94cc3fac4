#include "tccp/cli/docs.hpp"

#include <set>

#include "tccp/cli/dispatch.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::cli {

namespace {
using proto::Json;

// Text for roff: backslashes escaped, hyphens as \-, and a line may not
// start with a control character.
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) {
      out += "\\&";
    }
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string option_label(const Json& opt) {
  std::string label;
  if (opt.contains("positional")) {
    std::string name = opt["positional"].get<std::string>();
    return opt.value("required", false) ? "\\fI" + roff(name) + "\\fR"
                                        : "[\\fI" + roff(name) + "\\fR]";
  }
  std::vector<std::string> names;
  for (const auto& n : opt["names"]) {
    names.push_back("\\fB" + roff(n.get<std::string>()) + "\\fR");
  }
  label = util::join(names, ", ");
  if (opt.value("takes_value", false)) {
    label += " \\fI" + roff(opt.value("value_name", std::string("VALUE"))) + "\\fR";
  }
  return label;
}

bool is_common_option(const Json& opt) {
  static const std::set<std::string> common{"--help", "--version", "--json", "--quiet",
                                            "--verbose"};
  for (const auto& n : opt["names"]) {
    if (common.count(n.get<std::string>()) != 0) {
      return true;
    }
  }
  return false;
}

std::string positionals(const Json& cmd) {
  std::string out;
  for (const auto& opt : cmd["options"]) {
    if (opt.contains("positional")) {
      out += " " + option_label(opt);
    }
  }
  return out;
}

void options_section(std::string& out, const Json& cmd, bool skip_common) {
  for (const auto& opt : cmd["options"]) {
    if ((skip_common && is_common_option(opt)) || opt.contains("positional") ||
        opt["names"].empty()) {
      continue;
    }
    if (opt["names"].size() == 2 && opt["names"][0] == "-h") {
      continue; // every command has --help
    }
    out += ".TP\n" + option_label(opt) + "\n" + roff(opt.value("description", "")) + "\n";
  }
}

const char* exit_status_section =
    ".SH EXIT STATUS\n"
    ".TP\n0\nSuccess.\n"
    ".TP\n1\nThe operation ran and failed (the job failed, nothing is free).\n"
    ".TP\n2\nUsage: a bad command line.\n"
    ".TP\n3\nConfiguration: a bad or missing tccp.yaml or ~/.tccp/config.yaml.\n"
    ".TP\n4\nProtocol: a bad or incompatible JSON document on standard input.\n"
    ".TP\n5\nAuthentication or host key.\n"
    ".TP\n6\nThe cluster is unreachable or timed out.\n"
    ".TP\n7\nThe cluster refused (sbatch rejected, quota).\n"
    ".TP\n70\nInternal error (a bug in tccp).\n"
    ".TP\n130\nInterrupted.\n";

// A word list for bash/zsh code: only characters safe unquoted.
std::string words(const std::vector<std::string>& list) {
  return util::join(list, " ");
}

std::string bash_name(const std::string& tool) {
  std::string out = tool;
  for (char& c : out) {
    if (c == '-') {
      c = '_';
    }
  }
  return out;
}

std::string short_name(const Json& tool) {
  std::string name = tool["name"].get<std::string>();
  return util::starts_with(name, "tccp-") ? name.substr(5) : name;
}

struct OptionWords {
  std::vector<std::string> all;
  std::vector<std::string> with_value;
  std::vector<std::string> with_dir;
};

OptionWords option_words(const Json& cmd) {
  OptionWords w;
  for (const auto& opt : cmd["options"]) {
    for (const auto& n : opt["names"]) {
      std::string name = n.get<std::string>();
      w.all.push_back(name);
      if (opt.value("takes_value", false)) {
        w.with_value.push_back(name);
        if (opt.value("value_name", std::string()) == "DIR") {
          w.with_dir.push_back(name);
        }
      }
    }
  }
  return w;
}

std::vector<std::string> command_names(const Json& cmd) {
  std::vector<std::string> names;
  for (const auto& sub : cmd["commands"]) {
    names.push_back(sub["name"].get<std::string>());
  }
  return names;
}

// 'text' for zsh/bash single quotes.
std::string single_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

std::string zsh_item(const std::string& name, const std::string& summary) {
  std::string escaped;
  for (char c : name) {
    if (c == ':') {
      escaped += '\\';
    }
    escaped += c;
  }
  return single_quoted(escaped + ":" + summary);
}
} // namespace

std::string render_man_page(const Json& tool, const std::string& version) {
  const std::string name = tool["name"].get<std::string>();
  std::string upper = name;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  std::string out;
  out += ".\\\" Generated by 'make docs' from '" + name + " --describe'; do not edit.\n";
  out += ".TH " + roff(upper) + " 1 \"\" \"tccp " + roff(version) + "\" \"tccp manual\"\n";
  out += ".SH NAME\n" + roff(name) + " \\- " + roff(tool.value("summary", "")) + "\n";
  out += ".SH SYNOPSIS\n";
  if (tool["commands"].empty()) {
    out += ".B " + roff(name) + "\n[\\fIOPTIONS\\fR]" + positionals(tool) + "\n";
  } else {
    for (const auto& cmd : tool["commands"]) {
      out += ".br\n.B " + roff(name) + "\n[\\fIOPTIONS\\fR] \\fB" +
             roff(cmd["name"].get<std::string>()) + "\\fR" + positionals(cmd) + "\n";
    }
  }
  std::string details = tool.value("details", "");
  if (!details.empty()) {
    out += ".SH DESCRIPTION\n" + roff(details) + "\n";
  }
  if (!tool["commands"].empty()) {
    out += ".SH COMMANDS\n";
    for (const auto& cmd : tool["commands"]) {
      out += ".TP\n\\fB" + roff(cmd["name"].get<std::string>()) + "\\fR" + positionals(cmd) + "\n" +
             roff(cmd.value("summary", "")) + "\n";
      std::string sub_options;
      options_section(sub_options, cmd, false);
      if (!sub_options.empty()) {
        out += ".RS\n" + sub_options + ".RE\n";
      }
    }
  }
  out += ".SH OPTIONS\n";
  options_section(out, tool, false);
  out += exit_status_section;
  out += ".SH SEE ALSO\n\\fBtccp\\fR(1)\n";
  return out;
}

std::string render_dispatcher_man_page(const std::string& version) {
  std::string out;
  out += ".\\\" Generated by 'make docs' from the verb table of tccp; do not edit.\n";
  out += ".TH TCCP 1 \"\" \"tccp " + roff(version) + "\" \"tccp manual\"\n";
  out += ".SH NAME\ntccp \\- run Python on a SLURM cluster without learning HPC\n";
  out += ".SH SYNOPSIS\n.B tccp\n[\\fB\\-\\-version\\fR] [\\fB\\-\\-help\\fR] \\fIcommand\\fR "
         "[\\fIargs\\fR]\n.br\n.B tccp\n";
  out += ".SH DESCRIPTION\n"
         "\\fBtccp\\fR runs a friendly verb (\\fBrun train\\fR) as one tool or a pipeline of "
         "tools, or runs \\fBtccp\\-\\fR\\fItool\\fR with the arguments unchanged. The tools "
         "are looked for next to \\fBtccp\\fR, then on PATH. The exit status is the tool's. "
         "With no arguments on a terminal, \\fBtccp\\fR is the \\fBtccp>\\fR prompt, which "
         "reads the same commands.\n";
  out += ".SH COMMANDS\n";
  for (const auto& verb : verbs()) {
    std::vector<std::string> parts;
    for (const auto& stage : verb.stages) {
      std::vector<std::string> argv{stage.tool};
      for (const auto& a : stage.args) {
        argv.push_back(a == "$@" ? "ARGS..." : a == "$1" ? "JOB" : a == "$rest" ? "ARGS..." : a);
      }
      parts.push_back(util::join(argv, " "));
    }
    out += ".TP\n\\fB" + roff(verb.name) + "\\fR\n" + roff(verb.summary) +
           ".\nRuns: " + roff(util::join(parts, " | ")) + "\n";
  }
  out += ".SH TOOLS\nEach tool also runs alone as \\fBtccp\\-\\fR\\fItool\\fR.\n";
  for (const auto& tool : tools()) {
    out += ".TP\n\\fB" + roff(tool.name) + "\\fR\n" + roff(tool.summary) + " (\\fBtccp\\-" +
           roff(tool.name) + "\\fR(1))\n";
  }
  out += exit_status_section;
  out += ".SH FILES\n.TP\n\\fItccp.yaml\\fR\nThe project's configuration, in the project root.\n"
         ".TP\n\\fI$TCCP_HOME/config.yaml\\fR (default \\fI~/.tccp/config.yaml\\fR)\n"
         "The cluster profile and global defaults.\n";
  out += ".SH SEE ALSO\n";
  std::vector<std::string> refs;
  for (const auto& tool : tools()) {
    refs.push_back("\\fBtccp\\-" + roff(tool.name) + "\\fR(1)");
  }
  out += util::join(refs, ", ") + "\n";
  return out;
}

std::string render_bash_completion(const std::vector<Json>& described) {
  std::string out =
      "# bash completion for tccp and its tools.\n"
      "# Generated by 'make docs' from each tool's --describe; do not edit.\n"
      "# shellcheck shell=bash\n\n"
      "# _tccp_tool TOOL START: completes tool TOOL whose arguments begin at\n"
      "# COMP_WORDS[START].\n"
      "_tccp_tool() {\n"
      "    local tool=$1 start=$2 cur=${COMP_WORDS[COMP_CWORD]} prev='' sub='' i\n"
      "    ((COMP_CWORD > start)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
      "    \"_tccp_describe_$tool\" ''\n"
      "    local cmds=$_tccp_cmds opts=$_tccp_opts vopts=$_tccp_vopts dopts=$_tccp_dopts\n"
      "    for ((i = start; i < COMP_CWORD; i++)); do\n"
      "        if [[ \" $cmds \" == *\" ${COMP_WORDS[i]} \"* ]]; then\n"
      "            sub=${COMP_WORDS[i]}\n"
      "            \"_tccp_describe_$tool\" \"$sub\"\n"
      "            opts=\"$opts $_tccp_opts\" vopts=\"$vopts $_tccp_vopts\" dopts=\"$dopts "
      "$_tccp_dopts\"\n"
      "            break\n"
      "        fi\n"
      "    done\n"
      "    if [[ -n $prev && \" $dopts \" == *\" $prev \"* ]]; then\n"
      "        mapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n"
      "    elif [[ -n $prev && \" $vopts \" == *\" $prev \"* ]]; then\n"
      "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
      "    elif [[ $cur == -* ]]; then\n"
      "        mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
      "    elif [[ -z $sub && -n $cmds ]]; then\n"
      "        mapfile -t COMPREPLY < <(compgen -W \"$cmds\" -- \"$cur\")\n"
      "    else\n"
      "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
      "    fi\n"
      "}\n\n";
  std::set<std::string> described_names;
  for (const auto& tool : described) {
    const std::string name = short_name(tool);
    described_names.insert(name);
    const std::string fn = bash_name(name);
    out += "_tccp_describe_" + fn + "() {\n    case $1 in\n";
    auto emit = [&](const std::string& label, const Json& cmd) {
      OptionWords w = option_words(cmd);
      out += "    " + label + ")\n";
      out += "        _tccp_cmds='" + words(command_names(cmd)) + "'\n";
      out += "        _tccp_opts='" + words(w.all) + "'\n";
      out += "        _tccp_vopts='" + words(w.with_value) + "'\n";
      out += "        _tccp_dopts='" + words(w.with_dir) + "'\n";
      out += "        ;;\n";
    };
    emit("''", tool);
    for (const auto& cmd : tool["commands"]) {
      emit(cmd["name"].get<std::string>(), cmd);
    }
    out += "    *) _tccp_cmds='' _tccp_opts='' _tccp_vopts='' _tccp_dopts='' ;;\n    esac\n}\n";
    out += "_tccp_" + fn + "() { _tccp_tool " + fn + " 1; }\n";
    out += "complete -F _tccp_" + fn + " tccp-" + name + "\n\n";
  }
  std::vector<std::string> first_words{"--help", "--version", "help"};
  for (const auto& verb : verbs()) {
    first_words.push_back(verb.name);
  }
  for (const auto& tool : tools()) {
    first_words.push_back(tool.name);
  }
  out += "_tccp() {\n"
         "    local cur=${COMP_WORDS[COMP_CWORD]}\n"
         "    if ((COMP_CWORD == 1)); then\n"
         "        mapfile -t COMPREPLY < <(compgen -W '" +
         words(first_words) +
         "' -- \"$cur\")\n"
         "        return\n"
         "    fi\n"
         "    case ${COMP_WORDS[1]} in\n";
  // Verbs first: `logs` is a verb before it is a tool, as in the dispatcher.
  for (const auto& verb : verbs()) {
    const Stage& stage = verb.stages.front();
    std::string tool = stage.tool.substr(5);
    if (described_names.count(tool) == 0 || stage.args.empty() ||
        util::starts_with(stage.args.front(), "$")) {
      continue;
    }
    out += "    " + verb.name + ")\n";
    out += "        _tccp_describe_" + bash_name(tool) + " " + stage.args.front() + "\n";
    out += "        if [[ $cur == -* ]]; then\n";
    out += "            mapfile -t COMPREPLY < <(compgen -W \"$_tccp_opts\" -- \"$cur\")\n";
    out += "        else\n";
    out += "            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
    out += "        fi\n        ;;\n";
  }
  for (const auto& name : described_names) {
    if (find_verb(name)) {
      continue;
    }
    out += "    " + name + ") _tccp_tool " + bash_name(name) + " 2 ;;\n";
  }
  out += "    help) mapfile -t COMPREPLY < <(compgen -W '" +
         words(std::vector<std::string>(first_words.begin() + 3, first_words.end())) +
         "' -- \"$cur\") ;;\n";
  out += "    *) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n    esac\n}\n";
  out += "complete -F _tccp tccp\n";
  return out;
}

std::string render_zsh_completion(const std::vector<Json>& described) {
  std::vector<std::string> commands{"tccp"};
  for (const auto& tool : described) {
    commands.push_back(tool["name"].get<std::string>());
  }
  std::string out = "#compdef " + words(commands) + "\n";
  out += "# zsh completion for tccp and its tools.\n"
         "# Generated by 'make docs' from each tool's --describe; do not edit.\n\n";
  std::set<std::string> described_names;
  for (const auto& tool : described) {
    const std::string name = short_name(tool);
    described_names.insert(name);
    const std::string fn = bash_name(name);
    // _tccp_tool_NAME START [SUB]: completes the tool whose arguments begin
    // at $words[START]; SUB fixes the command (for verbs).
    out += "_tccp_tool_" + fn + "() {\n";
    out += "    local start=$1 sub=$2 i\n    local -a cmds opts dirs\n    cmds=(";
    std::vector<std::string> items;
    for (const auto& cmd : tool["commands"]) {
      items.push_back(zsh_item(cmd["name"].get<std::string>(), cmd.value("summary", "")));
    }
    out += util::join(items, " ") + ")\n";
    out += "    if [[ -z $sub ]]; then\n"
           "        for ((i = start; i < CURRENT; i++)); do\n"
           "            case $words[i] in\n";
    if (!tool["commands"].empty()) {
      out += "            " + util::join(command_names(tool), "|") + ") sub=$words[i]; break ;;\n";
    }
    out += "            esac\n        done\n    fi\n";
    auto option_items = [&](const Json& cmd) {
      std::vector<std::string> list;
      for (const auto& opt : cmd["options"]) {
        for (const auto& n : opt["names"]) {
          list.push_back(zsh_item(n.get<std::string>(), opt.value("description", "")));
        }
      }
      return util::join(list, " ");
    };
    OptionWords top = option_words(tool);
    out += "    opts=(" + option_items(tool) + ")\n";
    out += "    dirs=(" + words(top.with_dir) + ")\n";
    out += "    case $sub in\n";
    for (const auto& cmd : tool["commands"]) {
      OptionWords w = option_words(cmd);
      out += "    " + cmd["name"].get<std::string>() + ") opts+=(" + option_items(cmd) +
             "); dirs+=(" + words(w.with_dir) + ") ;;\n";
    }
    out += "    esac\n";
    out += "    if (( ${dirs[(Ie)$words[CURRENT-1]]} )); then\n"
           "        _files -/\n"
           "    elif [[ $words[CURRENT] == -* ]]; then\n"
           "        _describe -t options option opts\n"
           "    elif [[ -z $sub && ${#cmds} -gt 0 ]]; then\n"
           "        _describe -t commands command cmds\n"
           "    else\n"
           "        _files\n"
           "    fi\n}\n\n";
  }
  out += "_tccp_dispatcher() {\n    local -a cmds\n    cmds=(";
  std::vector<std::string> items;
  for (const auto& verb : verbs()) {
    items.push_back(zsh_item(verb.name, verb.summary));
  }
  for (const auto& tool : tools()) {
    if (!find_verb(tool.name)) {
      items.push_back(zsh_item(tool.name, tool.summary));
    }
  }
  items.push_back(zsh_item("help", "show help for a command"));
  out += util::join(items, " ") + ")\n";
  out += "    if (( CURRENT == 2 )); then\n"
         "        _describe -t commands 'tccp command' cmds\n"
         "        return\n"
         "    fi\n"
         "    case $words[2] in\n";
  for (const auto& verb : verbs()) {
    const Stage& stage = verb.stages.front();
    std::string tool = stage.tool.substr(5);
    if (described_names.count(tool) == 0 || stage.args.empty() ||
        util::starts_with(stage.args.front(), "$")) {
      continue;
    }
    out += "    " + verb.name + ") _tccp_tool_" + bash_name(tool) + " 3 " + stage.args.front() +
           " ;;\n";
  }
  for (const auto& name : described_names) {
    if (!find_verb(name)) {
      out += "    " + name + ") _tccp_tool_" + bash_name(name) + " 3 ;;\n";
    }
  }
  out += "    *) _files ;;\n    esac\n}\n\n";
  out += "case $service in\n    tccp) _tccp_dispatcher ;;\n";
  for (const auto& name : described_names) {
    out += "    tccp-" + name + ") _tccp_tool_" + bash_name(name) + " 2 ;;\n";
  }
  out += "esac\n";
  return out;
}

std::vector<std::string> generate_docs(const std::filesystem::path& root) {
  std::filesystem::path bin_dir = std::filesystem::path(util::self_exe_path()).parent_path();
  std::vector<Json> described;
  for (const auto& tool : tools()) {
    auto path = bin_dir / ("tccp-" + tool.name);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      continue;
    }
    util::ProcessResult r = util::run_process({path.string(), "--describe"});
    if (r.exit_code != 0) {
      throw Error(ExitCode::internal, "'" + path.string() + " --describe' failed: " + r.err);
    }
    described.push_back(Json::parse(r.out));
  }
  std::vector<std::string> written;
  auto write = [&](const std::string& rel, const std::string& text) {
    auto path = root / rel;
    std::filesystem::create_directories(path.parent_path());
    util::atomic_write_file(path, text, 0644);
    written.push_back(rel);
  };
  write("man/man1/tccp.1", render_dispatcher_man_page(TCCP_VERSION));
  for (const auto& tool : described) {
    write("man/man1/" + tool["name"].get<std::string>() + ".1",
          render_man_page(tool, TCCP_VERSION));
  }
  write("completions/tccp.bash", render_bash_completion(described));
  write("completions/_tccp", render_zsh_completion(described));
  return written;
}

} // namespace tccp::cli
