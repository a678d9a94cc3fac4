// The examples of docs/protocol.md are the golden files of tests/golden/:
// each is a valid document, each appears verbatim in the doc, and those
// the library writes are byte for byte what it writes. Regenerate after an
// intended change with TCCP_UPDATE_GOLDEN=1 and review the diff.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "tccp/config/job_spec.hpp"
#include "tccp/config/project.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/strings.hpp"

using namespace tccp;
namespace fs = std::filesystem;

namespace {
const fs::path source_dir = TCCP_SOURCE_DIR;
const fs::path golden_dir = source_dir / "tests/golden";

void expect_golden(const std::string& actual, const std::string& file) {
  auto path = golden_dir / file;
  if (const char* update = std::getenv("TCCP_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    util::atomic_write_file(path, actual, 0644);
  }
  auto expected = util::read_file_if_exists(path);
  ASSERT_TRUE(expected.has_value()) << path << " is missing; run with TCCP_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, *expected) << "differs from " << path;
}

std::vector<fs::path> protocol_examples() {
  std::vector<fs::path> files{golden_dir / "job-full-train.json"};
  for (const auto& entry : fs::directory_iterator(golden_dir / "protocol")) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}
} // namespace

TEST(ProtocolDoc, EveryExampleIsAVersionOneDocument) {
  for (const auto& file : protocol_examples()) {
    std::string text = util::read_file(file);
    for (const auto& line :
         util::split(util::trim(text), file.extension() == ".jsonl" ? '\n' : '\0')) {
      proto::Envelope env = proto::parse_envelope(line);
      EXPECT_EQ(env.version, "1.0") << file;
    }
  }
}

TEST(ProtocolDoc, EveryExampleAppearsVerbatimInTheDoc) {
  std::string doc = util::read_file(source_dir / "docs/protocol.md");
  for (const auto& file : protocol_examples()) {
    std::string text = util::trim(util::read_file(file));
    EXPECT_NE(doc.find("\n" + text + "\n```"), std::string::npos)
        << file.filename() << " is not in docs/protocol.md (paste it in a ```json block)";
  }
}

TEST(ProtocolDoc, ErrorExampleIsWhatRunMainWrites) {
  Error e(ExitCode::config,
          "tccp.yaml:5:5: jobs.train.memroy: unknown field, expected one of: script, package, "
          "args, ports, environment, gpu, gpu_count, memory, cpus, time, partition, "
          "exclude_nodes",
          "did you mean 'memory'?");
  expect_golden(proto::make_error(e, "tccp-config").to_json().dump(2) + "\n",
                "protocol/error.json");
}

TEST(ProtocolDoc, ClusterExampleIsWhatTheProfileWrites) {
  config::GlobalConfig g = config::parse_global("cluster:\n"
                                                "  host: login.hpc.example.edu\n"
                                                "  user: ada\n"
                                                "  remote_root: /scratch/ada/tccp\n"
                                                "  gpu_partition: gpu\n"
                                                "  runtime: apptainer\n"
                                                "  modules: [apptainer/1.2.5]\n",
                                                "config.yaml");
  proto::Envelope env;
  env.type = "cluster";
  env.data = config::cluster_to_json(g.cluster);
  expect_golden(env.to_json().dump(2) + "\n", "protocol/cluster.json");
}

TEST(ProtocolDoc, EnrichedJobStillReadsAsAJob) {
  proto::Envelope env =
      proto::parse_envelope(util::read_file(golden_dir / "protocol/job-allocated.json"));
  config::JobSpec job = config::job_from_json(env.data);
  EXPECT_EQ(job.job, "train");
  EXPECT_EQ(env.data["allocation"]["id"], "4242"); // SLURM ids are strings
}

TEST(ProtocolDoc, StreamEndsWithExactlyOneResult) {
  auto lines = util::split(util::trim(util::read_file(golden_dir / "protocol/stream.jsonl")), '\n');
  ASSERT_FALSE(lines.empty());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string type = proto::parse_envelope(lines[i]).type;
    bool last = i + 1 == lines.size();
    EXPECT_EQ(last, type == "result" || type == "error") << lines[i];
  }
}
