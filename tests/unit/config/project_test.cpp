#include <gtest/gtest.h>

#include "support.hpp"

using namespace tccp;
using namespace tccp::config;
using namespace tccp::config::fixtures;

namespace {
constexpr long long gb = 1024;
}

TEST(Defaults, EmptyFileIsTheImplicitMainJob) {
  JobSpec job = resolve("");
  EXPECT_EQ(job.project, "demo");
  EXPECT_EQ(job.project_dir, "/home/user/demo");
  EXPECT_EQ(job.job, "main");
  EXPECT_EQ(job.type, "python");
  EXPECT_EQ(job.script, "main.py");
  EXPECT_EQ(job.package, std::nullopt);
  EXPECT_TRUE(job.args.empty());
  EXPECT_EQ(job.env_file, ".env");
  EXPECT_EQ(job.output, "output");
  EXPECT_EQ(job.cache, "cache");
  EXPECT_TRUE(job.rodata.empty());
  EXPECT_TRUE(job.environment.empty());
  EXPECT_TRUE(job.ports.empty());
  EXPECT_EQ(job.resources.gpu_type, std::nullopt);
  EXPECT_EQ(job.resources.gpu_count, 0);
  EXPECT_EQ(job.resources.memory_mb, 4 * gb);
  EXPECT_EQ(job.resources.cpus, 1);
  EXPECT_EQ(job.resources.time_limit_s, 3600);
  EXPECT_EQ(job.resources.partition, std::nullopt);
  EXPECT_TRUE(job.resources.exclude_nodes.empty());
}

TEST(Defaults, CommentOnlyFileIsValid) {
  EXPECT_EQ(resolve("# nothing yet\n").script, "main.py");
}

TEST(Project, NameOverridesTheDirectoryName) {
  EXPECT_EQ(resolve("name: vision\n").project, "vision");
}

TEST(Project, ScriptAloneMakesTheMainJob) {
  JobSpec job = resolve("script: train.py\n");
  EXPECT_EQ(job.job, "main");
  EXPECT_EQ(job.script, "train.py");
  EXPECT_EQ(resolve("script: train.py\n", std::string("main")).script, "train.py");
}

TEST(Project, PackageAloneMakesTheMainJob) {
  JobSpec job = resolve("package: myapp.cli\n");
  EXPECT_EQ(job.package, "myapp.cli");
  EXPECT_EQ(job.script, std::nullopt);
}

TEST(Project, PathsAreNormalised) {
  JobSpec job = resolve("script: ./src/train.py\noutput: out/\nrodata: ./data\n");
  EXPECT_EQ(job.script, "src/train.py");
  EXPECT_EQ(job.output, "out");
  EXPECT_EQ(job.rodata, (std::vector<std::string>{"data"}));
}

TEST(Jobs, ShorthandNamesTheScript) {
  JobSpec job = resolve("jobs:\n  train: train.py\n  eval: eval.py\n", std::string("eval"));
  EXPECT_EQ(job.job, "eval");
  EXPECT_EQ(job.script, "eval.py");
}

TEST(Jobs, TheOnlyJobIsChosenWithoutAName) {
  EXPECT_EQ(resolve("jobs:\n  train: train.py\n").job, "train");
}

TEST(Jobs, SeveralJobsNeedAName) {
  Error e = error_of("jobs:\n  train: train.py\n  eval: eval.py\n");
  EXPECT_EQ(e.code(), ExitCode::usage);
  EXPECT_STREQ(e.what(), "tccp.yaml has 2 jobs, name one: train, eval");
  EXPECT_EQ(e.hint(), "e.g. 'tccp run train'");
}

TEST(Jobs, UnknownJobSuggestsTheNearestName) {
  Error e = error_of("jobs:\n  train: train.py\n  eval: eval.py\n", std::string("trian"));
  EXPECT_EQ(e.code(), ExitCode::usage);
  EXPECT_STREQ(e.what(), "no job 'trian' in tccp.yaml");
  EXPECT_EQ(e.hint(), "did you mean 'train'?");
  Error far = error_of("jobs:\n  train: train.py\n  eval: eval.py\n", std::string("xyz"));
  EXPECT_EQ(far.hint(), "the jobs are: train, eval");
}

TEST(Jobs, WithoutJobsBlockOnlyMainExists) {
  Error e = error_of("script: train.py\n", std::string("train"));
  EXPECT_EQ(e.code(), ExitCode::usage);
  EXPECT_STREQ(e.what(), "no job 'train' in tccp.yaml");
  EXPECT_EQ(e.hint(), "without a 'jobs:' block the one job is 'main'");
}

TEST(Jobs, JobWithoutProgramUsesTheProjectScript) {
  JobSpec job = resolve("script: run.py\njobs:\n  a:\n    args: --fast\n  b:\n", std::string("b"));
  EXPECT_EQ(job.script, "run.py");
  EXPECT_EQ(resolve("script: run.py\njobs:\n  a:\n    args: --fast\n", std::string("a")).args,
            (std::vector<std::string>{"--fast"}));
}

TEST(Jobs, JobPackageReplacesTheProjectScript) {
  JobSpec job = resolve("script: run.py\njobs:\n  serve:\n    package: myapp\n");
  EXPECT_EQ(job.package, "myapp");
  EXPECT_EQ(job.script, std::nullopt);
  EXPECT_EQ(job.origin_of("package"), Origin::job);
}

TEST(Gpu, ColonSyntaxGivesTheCount) {
  JobSpec job = resolve("gpu: a100-80gb:2\n");
  EXPECT_EQ(job.resources.gpu_type, "a100-80gb");
  EXPECT_EQ(job.resources.gpu_count, 2);
}

TEST(Gpu, GpuCountGivesTheCount) {
  JobSpec job = resolve("gpu: v100\ngpu_count: 3\n");
  EXPECT_EQ(job.resources.gpu_type, "v100");
  EXPECT_EQ(job.resources.gpu_count, 3);
}

TEST(Gpu, TypeWithoutCountIsOneGpu) {
  JobSpec job = resolve("gpu: t4\n");
  EXPECT_EQ(job.resources.gpu_count, 1);
  EXPECT_EQ(job.origin_of("resources.gpu_count"), Origin::project);
}

TEST(Gpu, TypeIsKeptAsWrittenInLowerCase) {
  EXPECT_EQ(resolve("gpu: a100\n").resources.gpu_type, "a100");
  EXPECT_EQ(resolve("gpu: H100\n").resources.gpu_type, "h100");
}

TEST(Gpu, NoneMeansNoGpuAndNoBump) {
  JobSpec job = resolve("gpu: none\n");
  EXPECT_EQ(job.resources.gpu_type, std::nullopt);
  EXPECT_EQ(job.resources.gpu_count, 0);
  EXPECT_EQ(job.resources.memory_mb, 4 * gb);
  EXPECT_EQ(job.resources.cpus, 1);
  EXPECT_EQ(job.resources.partition, std::nullopt);
}

TEST(Gpu, JobNoneOverridesProjectGpu) {
  JobSpec job = resolve("gpu: a100:2\njobs:\n  prep:\n    script: prep.py\n    gpu: none\n");
  EXPECT_EQ(job.resources.gpu_type, std::nullopt);
  EXPECT_EQ(job.resources.gpu_count, 0);
  EXPECT_EQ(job.resources.memory_mb, 4 * gb);
}

TEST(Gpu, ProfileGpuTypesAreAccepted) {
  JobSpec job = resolve("gpu: mi250:4\n", {}, "cluster:\n  gpu_types: [mi250]\n");
  EXPECT_EQ(job.resources.gpu_type, "mi250");
  EXPECT_EQ(job.resources.gpu_count, 4);
}

TEST(Bumps, GpuRaisesMemoryCpusAndPartition) {
  JobSpec job = resolve("gpu: a100\n");
  EXPECT_EQ(job.resources.memory_mb, 32 * gb);
  EXPECT_EQ(job.resources.cpus, 4);
  EXPECT_EQ(job.resources.partition, "gpu");
  EXPECT_EQ(job.origin_of("resources.memory_mb"), Origin::defaults);
}

TEST(Bumps, EightyGigabyteCardsGet64G) {
  EXPECT_EQ(resolve("gpu: a100-80gb\n").resources.memory_mb, 64 * gb);
  EXPECT_EQ(resolve("gpu: h100\n").resources.memory_mb, 64 * gb);
  EXPECT_EQ(resolve("gpu: a100-40gb\n").resources.memory_mb, 32 * gb);
}

TEST(Bumps, WrittenValuesWinAtEveryLevel) {
  // Written at the job level.
  JobSpec job = resolve("gpu: h100\njobs:\n  t:\n    script: t.py\n    memory: 16G\n    cpus: 2\n"
                        "    partition: short\n");
  EXPECT_EQ(job.resources.memory_mb, 16 * gb);
  EXPECT_EQ(job.resources.cpus, 2);
  EXPECT_EQ(job.resources.partition, "short");
  // Written in the global config: still wins over the bump.
  JobSpec global_written = resolve("gpu: a100\n", {}, "memory: 8G\ncpus: 2\n");
  EXPECT_EQ(global_written.resources.memory_mb, 8 * gb);
  EXPECT_EQ(global_written.resources.cpus, 2);
  EXPECT_EQ(global_written.origin_of("resources.memory_mb"), Origin::global);
}

TEST(Bumps, GpuPartitionComesFromTheProfile) {
  JobSpec job = resolve("gpu: v100\n", {}, "cluster:\n  gpu_partition: gpu-long\n");
  EXPECT_EQ(job.resources.partition, "gpu-long");
  EXPECT_EQ(job.origin_of("resources.partition"), Origin::global);
}

TEST(Partition, CpuJobsUseTheProfileDefaultPartition) {
  JobSpec job = resolve("", {}, "cluster:\n  default_partition: batch\n");
  EXPECT_EQ(job.resources.partition, "batch");
  EXPECT_EQ(job.origin_of("resources.partition"), Origin::global);
}

TEST(Partition, AutoInAJobUndoesAProjectPartition) {
  JobSpec job = resolve("partition: short\njobs:\n  t:\n    script: t.py\n    partition: auto\n"
                        "    gpu: t4\n");
  EXPECT_EQ(job.resources.partition, "gpu");
}

TEST(Precedence, GlobalThenProjectThenJob) {
  const std::string global_yaml = "type: python-pytorch\nmemory: 8G\ntime: \"2:00:00\"\n"
                                  "environment:\n  A: global\n  B: global\n";
  const std::string yaml = "memory: 16G\nenvironment:\n  B: project\n  C: project\n"
                           "jobs:\n  t:\n    script: t.py\n    memory: 24G\n"
                           "    environment:\n      C: job\n";
  JobSpec job = resolve(yaml, {}, global_yaml);
  EXPECT_EQ(job.type, "python-pytorch");
  EXPECT_EQ(job.origin_of("type"), Origin::global);
  EXPECT_EQ(job.resources.time_limit_s, 7200);
  EXPECT_EQ(job.resources.memory_mb, 24 * gb);
  EXPECT_EQ(job.origin_of("resources.memory_mb"), Origin::job);
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(job.environment, (Env{{"A", "global"}, {"B", "project"}, {"C", "job"}}));
  EXPECT_EQ(job.origin_of("environment.A"), Origin::global);
  EXPECT_EQ(job.origin_of("environment.B"), Origin::project);
  EXPECT_EQ(job.origin_of("environment.C"), Origin::job);
}

TEST(Precedence, JobPortsReplaceProjectPorts) {
  const std::string yaml = "ports: [8888]\njobs:\n  a: a.py\n  b:\n    script: b.py\n"
                           "    ports: [6006, 6007]\n";
  EXPECT_EQ(resolve(yaml, std::string("a")).ports, (std::vector<int>{8888}));
  EXPECT_EQ(resolve(yaml, std::string("b")).ports, (std::vector<int>{6006, 6007}));
}

TEST(Origins, RecordEveryDataField) {
  JobSpec job = resolve("name: x\njobs:\n  t:\n    script: t.py\n    cpus: 2\n");
  EXPECT_EQ(job.origin_of("project"), Origin::project);
  EXPECT_EQ(job.origin_of("job"), Origin::job);
  EXPECT_EQ(job.origin_of("script"), Origin::job);
  EXPECT_EQ(job.origin_of("resources.cpus"), Origin::job);
  EXPECT_EQ(job.origin_of("resources.time_limit_s"), Origin::defaults);
  for (const char* path : {"type", "args", "env_file", "output", "cache", "rodata", "ports",
                           "resources.gpu_type", "resources.gpu_count", "resources.memory_mb",
                           "resources.partition", "resources.exclude_nodes"}) {
    EXPECT_TRUE(job.origin_of(path).has_value()) << path;
  }
}

TEST(Values, ArgsAreShellSplit) {
  EXPECT_EQ(resolve("args: \"--name 'my run' --lr 3e-4\"\n").args,
            (std::vector<std::string>{"--name", "my run", "--lr", "3e-4"}));
}

TEST(Values, ArgsMayBeAList) {
  EXPECT_EQ(resolve("args: [--name, my run, 3]\n").args,
            (std::vector<std::string>{"--name", "my run", "3"}));
}

TEST(Values, ProjectArgsAreTheDefaultForJobs) {
  const std::string yaml = "args: --verbose\njobs:\n  a: a.py\n  b:\n    script: b.py\n"
                           "    args: --quiet\n";
  EXPECT_EQ(resolve(yaml, std::string("a")).args, (std::vector<std::string>{"--verbose"}));
  EXPECT_EQ(resolve(yaml, std::string("b")).args, (std::vector<std::string>{"--quiet"}));
}

TEST(Values, ExcludeNodesCommaSeparatedOrList) {
  EXPECT_EQ(resolve("exclude_nodes: \"c1, c2\"\n").resources.exclude_nodes,
            (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(resolve("exclude_nodes: [c3]\n").resources.exclude_nodes,
            (std::vector<std::string>{"c3"}));
}

TEST(Values, TimeAndMemoryFormats) {
  EXPECT_EQ(resolve("time: 90\n").resources.time_limit_s, 90 * 60);
  EXPECT_EQ(resolve("time: 1-12\n").resources.time_limit_s, 36 * 3600);
  EXPECT_EQ(resolve("memory: 2048\n").resources.memory_mb, 2048);
  EXPECT_EQ(resolve("memory: 1T\n").resources.memory_mb, 1024 * 1024);
}

TEST(Values, EnvironmentValuesAreStrings) {
  JobSpec job = resolve("environment:\n  SEED: 42\n  DEBUG: true\n");
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(job.environment, (Env{{"SEED", "42"}, {"DEBUG", "true"}}));
}

TEST(Values, PortsAndCpusBounds) {
  EXPECT_EQ(resolve("ports: [1, 65535]\n").ports, (std::vector<int>{1, 65535}));
  EXPECT_EQ(resolve("ports: 8080\n").ports, (std::vector<int>{8080}));
  EXPECT_EQ(resolve("cpus: 1\n").resources.cpus, 1);
}

TEST(GlobalConfig, ClusterProfileFields) {
  GlobalConfig g = global("cluster:\n"
                          "  host: login.hpc.example.edu\n"
                          "  port: 2222\n"
                          "  user: ada\n"
                          "  identity_files: [~/.ssh/id_ed25519]\n"
                          "  remote_root: /scratch/ada/tccp\n"
                          "  runtime: apptainer\n"
                          "  modules: [apptainer/1.2]\n"
                          "  images:\n    python: docker://python:3.12-slim\n"
                          "  system_site_packages: yes\n"
                          "  alloc_idle_timeout: 10m\n"
                          "  connect_idle_timeout: 7200\n");
  EXPECT_EQ(g.cluster.host, "login.hpc.example.edu");
  EXPECT_EQ(g.cluster.port, 2222);
  EXPECT_EQ(g.cluster.user, "ada");
  EXPECT_EQ(g.cluster.identity_files, (std::vector<std::string>{"~/.ssh/id_ed25519"}));
  EXPECT_EQ(g.cluster.remote_root, "/scratch/ada/tccp");
  EXPECT_EQ(g.cluster.runtime, "apptainer");
  EXPECT_EQ(g.cluster.modules, (std::vector<std::string>{"apptainer/1.2"}));
  EXPECT_EQ(g.cluster.images.at("python"), "docker://python:3.12-slim");
  EXPECT_EQ(g.cluster.images.at("python-pytorch"),
            "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime"); // the guide's default stays
  EXPECT_TRUE(g.cluster.system_site_packages);
  EXPECT_EQ(g.cluster.alloc_idle_timeout_s, 600);
  EXPECT_EQ(g.cluster.connect_idle_timeout_s, 7200);
}

TEST(GlobalConfig, DefaultsWithoutAFile) {
  GlobalConfig g = global("");
  EXPECT_EQ(g.cluster.remote_root, "~/.tccp");
  EXPECT_EQ(g.cluster.gpu_partition, "gpu");
  EXPECT_EQ(g.cluster.images.at("python"), "python:3.11-slim");
}
