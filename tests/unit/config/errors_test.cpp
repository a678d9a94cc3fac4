// Every bad input gets FILE:LINE:COL: FIELD: PROBLEM, expected WHAT (exit 3),
// with a did-you-mean hint for near misses. The messages are part of the
// interface: they are compared byte for byte.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace tccp;
using namespace tccp::config;
using namespace tccp::config::fixtures;

namespace {
void expect_error(const std::string& yaml, const std::string& message, const std::string& hint = "",
                  const std::string& global_yaml = "") {
  Error e = error_of(yaml, {}, global_yaml);
  EXPECT_EQ(e.code(), ExitCode::config) << yaml;
  EXPECT_EQ(std::string(e.what()), message) << yaml;
  EXPECT_EQ(e.hint(), hint) << yaml;
}
} // namespace

TEST(ConfigErrors, UnknownFieldWithDidYouMean) {
  expect_error("jobs:\n  train:\n    script: train.py\n    memroy: 8G\n",
               "tccp.yaml:4:5: jobs.train.memroy: unknown field, expected one of: script, "
               "package, args, ports, environment, gpu, gpu_count, memory, cpus, time, "
               "partition, exclude_nodes",
               "did you mean 'memory'?");
}

TEST(ConfigErrors, UnknownTopLevelFieldWithoutNearMiss) {
  expect_error("script: a.py\nbanana: 1\n",
               "tccp.yaml:2:1: banana: unknown field, expected one of: name, type, script, "
               "package, args, env, output, cache, rodata, environment, ports, jobs, gpu, "
               "gpu_count, memory, cpus, time, partition, exclude_nodes");
}

TEST(ConfigErrors, ProjectFieldInsideAJob) {
  expect_error("jobs:\n  train:\n    script: t.py\n    output: out\n",
               "tccp.yaml:4:5: jobs.train.output: not a job field, expected it at the top level "
               "of tccp.yaml");
}

TEST(ConfigErrors, ClusterFieldInTheProject) {
  expect_error("host: login\n",
               "tccp.yaml:1:1: host: not a project field, expected it under 'cluster:' in "
               "~/.tccp/config.yaml");
}

TEST(ConfigErrors, WrongTypeOfValue) {
  expect_error("cpus: [1, 2]\n", "tccp.yaml:1:7: cpus: got a list, expected a whole number >= 1");
  expect_error("environment: FOO\n",
               "tccp.yaml:1:14: environment: got 'FOO', expected a map of variables (e.g. "
               "WANDB_PROJECT: my-experiment)");
  expect_error("script:\n  a: b\n",
               "tccp.yaml:2:3: script: got a map, expected a path inside the project (e.g. "
               "train.py)");
  expect_error("jobs: train.py\n",
               "tccp.yaml:1:7: jobs: got 'train.py', expected a map of job names to a script or "
               "job fields (e.g. train: train.py)");
}

TEST(ConfigErrors, BadValues) {
  expect_error("memory: 4X\n",
               "tccp.yaml:1:9: memory: '4X' is not a memory size, expected a size with an "
               "optional K, M, G or T suffix (e.g. 32G; a plain number is MB)");
  expect_error("time: \"25:61\"\n",
               "tccp.yaml:1:7: time: '25:61' is not a time limit, expected a SLURM time: MM, "
               "MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. \"8:00:00\")");
  expect_error("cpus: 0\n", "tccp.yaml:1:7: cpus: 0 is out of range, expected a whole number >= 1");
  expect_error("cpus: two\n",
               "tccp.yaml:1:7: cpus: 'two' is not a whole number, expected a whole number >= 1");
  expect_error("ports: [6006, 70000]\n",
               "tccp.yaml:1:15: ports[1]: 70000 is out of range, expected a port number 1-65535");
  expect_error("ports: [0]\n",
               "tccp.yaml:1:9: ports[0]: 0 is out of range, expected a port number 1-65535");
  expect_error("type: pytorch\n",
               "tccp.yaml:1:7: type: 'pytorch' is not an environment type, expected python or "
               "python-pytorch");
  expect_error("type: pyhton\n",
               "tccp.yaml:1:7: type: 'pyhton' is not an environment type, expected python or "
               "python-pytorch",
               "did you mean 'python'?");
  expect_error("output: /tmp/out\n",
               "tccp.yaml:1:9: output: '/tmp/out' is not relative to the project, expected a "
               "path inside the project (e.g. output)");
  expect_error("cache: ../elsewhere\n",
               "tccp.yaml:1:8: cache: '../elsewhere' is outside the project, expected a path "
               "inside the project (e.g. cache)");
  expect_error("args: \"--name 'oops\"\n",
               "tccp.yaml:1:7: args: '--name 'oops' has an unterminated quote, expected a string "
               "of arguments (e.g. \"--epochs 10\") or a list");
  expect_error("environment:\n  1BAD: x\n",
               "tccp.yaml:2:3: environment.1BAD: '1BAD' is not a variable name, expected "
               "letters, digits and '_', not starting with a digit");
  expect_error("jobs:\n  my job: a.py\n",
               "tccp.yaml:2:3: jobs.my job: 'my job' is not a job name, expected letters, "
               "digits, '_', '-' and '.', starting with a letter or digit");
}

TEST(ConfigErrors, UnknownGpuType) {
  const std::string types = "t4, p100, rtx_6000, v100, a100-40gb, rtx_a5000, l40, rtx_a6000, "
                            "rtx_6000ada, a100-80gb, l40s, h100, a100, or none";
  expect_error("gpu: a10O\n",
               "tccp.yaml:1:6: gpu: 'a10O' is not a known GPU type, expected a GPU type (" + types +
                   "), optionally with :COUNT",
               "did you mean 'a100'?");
  expect_error("gpu: a100:0\n",
               "tccp.yaml:1:6: gpu: 'a100:0' has a bad count, expected TYPE:COUNT with a count "
               "from 1 to 64 (e.g. a100-80gb:2)");
}

TEST(ConfigErrors, GpuCountContradictions) {
  expect_error("gpu: none\ngpu_count: 2\n",
               "tccp.yaml:2:12: gpu_count: 2 GPUs with 'gpu: none', expected 0, or a GPU type in "
               "'gpu'");
  expect_error("gpu: a100:2\ngpu_count: 3\n",
               "tccp.yaml:2:12: gpu_count: 3 contradicts 'gpu: a100:2', expected one count, in "
               "'gpu' or in 'gpu_count'");
  expect_error("gpu: a100\ngpu_count: 0\n",
               "tccp.yaml:2:12: gpu_count: 0 GPUs with 'gpu: a100', expected at least 1, or "
               "'gpu: none'");
}

TEST(ConfigErrors, ScriptAndPackageTogether) {
  expect_error("jobs:\n  serve:\n    script: s.py\n    package: app\n",
               "tccp.yaml:4:5: jobs.serve.package: given together with 'script', expected either "
               "script or package, not both");
}

TEST(ConfigErrors, JobWithoutScriptOrPackage) {
  expect_error("jobs:\n  train:\n    cpus: 2\n",
               "tccp.yaml:2:3: jobs.train: names no script or package, expected 'script: FILE.py' "
               "or 'package: NAME' in the job (or a project-level script)",
               "e.g. 'train: train.py'");
  expect_error("jobs:\n  train:\n",
               "tccp.yaml:2:3: jobs.train: names no script or package, expected 'script: FILE.py' "
               "or 'package: NAME' in the job (or a project-level script)",
               "e.g. 'train: train.py'");
}

TEST(ConfigErrors, FieldWrittenTwice) {
  expect_error("cpus: 2\ncpus: 4\n",
               "tccp.yaml:2:1: cpus: written twice, expected each field once");
}

TEST(ConfigErrors, NotYaml) {
  expect_error("jobs:\n  train: [a\n",
               "tccp.yaml:3:1: not valid YAML: end of sequence flow not found",
               "check the indentation (spaces, not tabs) and quote values with ':' or '#'");
}

TEST(ConfigErrors, TopLevelIsNotAMap) {
  expect_error("- train.py\n",
               "tccp.yaml:1:1: got a list at the top level, expected a map of fields (e.g. "
               "script: train.py)");
}

TEST(ConfigErrors, GlobalConfigErrorsNameItsPath) {
  expect_error("",
               "/home/user/.tccp/config.yaml:2:3: cluster.prot: unknown field, expected one "
               "of: name, host, port, user, identity_files, known_hosts, askpass, proxy_jump, "
               "remote_root, default_partition, gpu_partition, runtime, images, modules, "
               "system_site_packages, pip_index, python, alloc_idle_timeout, "
               "connect_idle_timeout, gpu_types",
               "did you mean 'port'?", "cluster:\n  prot: 22\n");
  expect_error("",
               "/home/user/.tccp/config.yaml:1:1: jobs: not a global field, expected it in "
               "the project's tccp.yaml",
               "", "jobs:\n  a: a.py\n");
  expect_error("",
               "/home/user/.tccp/config.yaml:1:1: host: not a global default, expected it "
               "under 'cluster:'",
               "", "host: login\n");
  expect_error("",
               "/home/user/.tccp/config.yaml:2:12: cluster.runtime: 'docker' is not a "
               "container runtime, expected one of: none, podman, apptainer, singularity",
               "", "cluster:\n  runtime: docker\n");
  expect_error("",
               "/home/user/.tccp/config.yaml:1:9: memory: '12Q' is not a memory size, "
               "expected a size with an optional K, M, G or T suffix (e.g. 32G; a plain "
               "number is MB)",
               "", "memory: 12Q\n");
}
