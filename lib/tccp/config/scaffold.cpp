#include "tccp/config/scaffold.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "tccp/core/error.hpp"

namespace tccp::config {

namespace {
const std::string requirements_txt =
    "# Python packages for this project, one per line, as for pip.\n"
    "# tccp installs them on the cluster and reinstalls only when this file changes.\n";

const std::string main_py = "\"\"\"An example job: 'tccp run main' runs it on the cluster.\"\"\"\n"
                            "import os\n"
                            "import platform\n"
                            "\n"
                            "os.makedirs(\"output\", exist_ok=True)\n"
                            "print(f\"Hello from {platform.node()}\")\n"
                            "with open(os.path.join(\"output\", \"hello.txt\"), \"w\") as f:\n"
                            "    f.write(\"written on the cluster\\n\")\n";

const std::string gitignore =
    "# Job output, downloaded by tccp.\n"
    "output/\n"
    "# Secrets for your jobs (tccp syncs this file even though git ignores it).\n"
    ".env\n";

enum class Created { yes, existed };

Created create_exclusive(const std::filesystem::path& path, const std::string& contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Created::existed;
    }
    throw Error(ExitCode::config, "cannot create '" + path.string() + "': " + std::strerror(errno));
  }
  std::string_view rest = contents;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      throw Error(ExitCode::config,
                  "cannot write '" + path.string() + "': " + std::strerror(saved));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
  return Created::yes;
}
} // namespace

const std::string& scaffold_tccp_yaml() {
  static const std::string text =
      "# tccp.yaml: how tccp runs this project on the cluster.\n"
      "# Every field is optional; 'man tccp-config' lists them all.\n"
      "type: python      # python (CPU) or python-pytorch (GPU, PyTorch, CUDA)\n"
      "script: main.py   # the job 'main' runs: python main.py\n"
      "# gpu: a100       # a GPU; memory and cpus grow to fit it\n"
      "# time: \"1:00:00\" # walltime limit\n"
      "#\n"
      "# Several jobs ('tccp run train', 'tccp run eval'):\n"
      "# jobs:\n"
      "#   train:\n"
      "#     script: train.py\n"
      "#     args: \"--epochs 10\"\n"
      "#   eval: eval.py\n";
  return text;
}

ScaffoldResult scaffold_project(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ExitCode::config, "'" + dir.string() + "' is not a directory");
  }
  ScaffoldResult result;
  auto write = [&](const std::string& name, const std::string& contents) {
    if (create_exclusive(dir / name, contents) == Created::yes) {
      result.created.push_back(name);
    } else {
      result.kept.push_back(name);
    }
  };
  write("tccp.yaml", scaffold_tccp_yaml());
  bool new_project = !result.created.empty();
  write("requirements.txt", requirements_txt);
  // An existing project already has its scripts.
  if (new_project) {
    write("main.py", main_py);
  }
  write(".gitignore", gitignore);
  return result;
}

} // namespace tccp::config
