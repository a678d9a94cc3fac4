#include <gtest/gtest.h>

#include <algorithm>

#include "tccp/config/values.hpp"

using namespace tccp::config;

TEST(TimeLimit, AcceptsEverySlurmFormat) {
  EXPECT_EQ(parse_time_limit_s("30"), 30 * 60);       // MM
  EXPECT_EQ(parse_time_limit_s("90"), 90 * 60);       // MM may exceed 59
  EXPECT_EQ(parse_time_limit_s("5:30"), 5 * 60 + 30); // MM:SS
  EXPECT_EQ(parse_time_limit_s("1:00:00"), 3600);     // HH:MM:SS
  EXPECT_EQ(parse_time_limit_s("8:00:00"), 8 * 3600);
  EXPECT_EQ(parse_time_limit_s("48:00:00"), 48 * 3600);
  EXPECT_EQ(parse_time_limit_s("2-12"), 2 * 86400 + 12 * 3600);         // D-HH
  EXPECT_EQ(parse_time_limit_s("1-02:30"), 86400 + 2 * 3600 + 30 * 60); // D-HH:MM
  EXPECT_EQ(parse_time_limit_s("1-00:00:10"), 86400 + 10);              // D-HH:MM:SS
}

TEST(TimeLimit, RejectsMalformedAndZero) {
  for (const char* bad : {"", "abc", "1:60", "1:00:60", "1:60:00", "1:2:3:4", "-5", "1-24", "1-",
                          "x-1", "0", "0:00:00", "1h", "1.5"}) {
    EXPECT_FALSE(parse_time_limit_s(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_time_limit_s(" 8:00:00 "), 8 * 3600);
}

TEST(TimeLimit, FormatsAsSlurmTime) {
  EXPECT_EQ(format_time_limit(3600), "1:00:00");
  EXPECT_EQ(format_time_limit(8 * 3600 + 65), "8:01:05");
  EXPECT_EQ(format_time_limit(2 * 86400 + 3600), "2-01:00:00");
}

TEST(Memory, SuffixesAndPlainMegabytes) {
  EXPECT_EQ(parse_memory_mb("4G"), 4096);
  EXPECT_EQ(parse_memory_mb("64G"), 65536);
  EXPECT_EQ(parse_memory_mb("128g"), 131072);
  EXPECT_EQ(parse_memory_mb("64GB"), 65536);
  EXPECT_EQ(parse_memory_mb("512M"), 512);
  EXPECT_EQ(parse_memory_mb("4096"), 4096); // plain number = MB, as SLURM
  EXPECT_EQ(parse_memory_mb("1T"), 1024 * 1024);
  EXPECT_EQ(parse_memory_mb("2048K"), 2);
  EXPECT_EQ(parse_memory_mb("1K"), 1); // rounds up to a whole MB
}

TEST(Memory, RejectsMalformedAndZero) {
  for (const char* bad : {"", "G", "4X", "1.5G", "-4G", "0", "0G", "four", "4 G B"}) {
    EXPECT_FALSE(parse_memory_mb(bad).has_value()) << bad;
  }
}

TEST(Memory, FormatsWholeUnits) {
  EXPECT_EQ(format_memory(4096), "4G");
  EXPECT_EQ(format_memory(1500), "1500M");
  EXPECT_EQ(format_memory(1024 * 1024), "1T");
}

TEST(Duration, SecondsUnitsAndSlurmTime) {
  EXPECT_EQ(parse_duration_s("90"), 90);
  EXPECT_EQ(parse_duration_s("30m"), 1800);
  EXPECT_EQ(parse_duration_s("2h"), 7200);
  EXPECT_EQ(parse_duration_s("1d"), 86400);
  EXPECT_EQ(parse_duration_s("1:00:00"), 3600);
  EXPECT_FALSE(parse_duration_s("soon").has_value());
  EXPECT_FALSE(parse_duration_s("0").has_value());
}

TEST(GpuTypes, GuideTableAndEightyGigabyteCards) {
  const auto& types = known_gpu_types();
  for (const char* t : {"t4", "p100", "rtx_6000", "v100", "a100-40gb", "rtx_a5000", "l40",
                        "rtx_a6000", "rtx_6000ada", "a100-80gb", "l40s", "h100", "a100"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  }
  EXPECT_TRUE(is_80gb_gpu("a100-80gb"));
  EXPECT_TRUE(is_80gb_gpu("h100"));
  EXPECT_FALSE(is_80gb_gpu("a100"));
  EXPECT_FALSE(is_80gb_gpu("l40s"));
}
