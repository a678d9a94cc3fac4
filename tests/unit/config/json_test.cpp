#include <gtest/gtest.h>

#include "support.hpp"

using namespace tccp;
using namespace tccp::config;
using namespace tccp::config::fixtures;

TEST(JobJson, RoundTripsThroughJobFromJson) {
  JobSpec job = resolve("gpu: a100:2\nenvironment:\n  B: 2\n  A: 1\nports: [6006]\n"
                        "exclude_nodes: c1\nargs: --x 'y z'\n",
                        {}, "cluster:\n  host: login\n  port: 2222\n  user: ada\n");
  proto::Json json = job_to_json(job, WithOrigins::yes);
  JobSpec back = job_from_json(json);
  EXPECT_EQ(job_to_json(back, WithOrigins::yes), json);
  EXPECT_EQ(back.environment.front().first, "B"); // file order is kept
  EXPECT_EQ(back.cluster.port, 2222);
}

TEST(JobJson, LaterToolsFieldsAreIgnored) {
  proto::Json json = job_to_json(resolve("script: t.py\n"));
  json["allocation"] = {{"id", "123"}, {"node", "c1"}};
  json["future_field"] = 42;
  EXPECT_EQ(job_from_json(json).script, "t.py");
}

TEST(JobJson, OriginsOnlyWhenAsked) {
  JobSpec job = resolve("cpus: 2\n");
  EXPECT_FALSE(job_to_json(job).contains("origins"));
  proto::Json with = job_to_json(job, WithOrigins::yes);
  EXPECT_EQ(with["origins"]["resources.cpus"], "project");
  EXPECT_EQ(with["origins"]["resources.memory_mb"], "default");
}

TEST(JobJson, ScriptOrPackageTheOtherIsNull) {
  proto::Json json = job_to_json(resolve("package: app\n"));
  EXPECT_TRUE(json["script"].is_null());
  EXPECT_EQ(json["package"], "app");
}

TEST(JobJson, MissingOrMistypedFieldIsAProtocolError) {
  proto::Json json = job_to_json(resolve(""));
  json["resources"].erase("memory_mb");
  try {
    job_from_json(json);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::protocol);
    EXPECT_STREQ(e.what(), "the job document has no valid 'resources.memory_mb' (expected an "
                           "integer)");
  }
  proto::Json bad_ports = job_to_json(resolve(""));
  bad_ports["ports"] = {"6006"};
  EXPECT_THROW(job_from_json(bad_ports), Error);
  proto::Json both = job_to_json(resolve(""));
  both["package"] = "app";
  EXPECT_THROW(job_from_json(both), Error);
}

TEST(ClusterJson, RoundTripsAndNullsForUnset) {
  ClusterProfile p = global("cluster:\n  host: h\n  default_partition: batch\n"
                            "  pip_index: http://pypi.local/simple\n  gpu_types: [mi250]\n")
                         .cluster;
  proto::Json j = cluster_to_json(p);
  EXPECT_TRUE(j["user"].is_null());
  EXPECT_TRUE(j["port"].is_null());
  EXPECT_EQ(j["default_partition"], "batch");
  EXPECT_EQ(cluster_to_json(cluster_from_json(j)), j);
  EXPECT_TRUE(cluster_to_json(ClusterProfile{})["host"].is_null());
}
