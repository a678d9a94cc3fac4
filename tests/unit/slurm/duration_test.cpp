#include <gtest/gtest.h>

#include "tccp/slurm/duration.hpp"

using namespace tccp::slurm;

TEST(SlurmDuration, SqueueMinutesAndSeconds) {
  EXPECT_EQ(parse_duration("14:55").as_optional(), 14 * 60 + 55);
  EXPECT_EQ(parse_duration("0:00").as_optional(), 0);
  EXPECT_EQ(parse_duration("8:00").as_optional(), 480);
}

TEST(SlurmDuration, HoursAndDays) {
  EXPECT_EQ(parse_duration("1:00:00").as_optional(), 3600);
  EXPECT_EQ(parse_duration("1-00:00:00").as_optional(), 86400);
  EXPECT_EQ(parse_duration("2-03:04:05").as_optional(), 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
  EXPECT_EQ(parse_duration("1-02:30").as_optional(), 86400 + 2 * 3600 + 30 * 60);
  EXPECT_EQ(parse_duration("1-02").as_optional(), 86400 + 2 * 3600);
}

TEST(SlurmDuration, BareNumberIsMinutesAsInSbatch) {
  EXPECT_EQ(parse_duration("15").as_optional(), 900);
}

TEST(SlurmDuration, UnlimitedCoversEverythingUnknownNothing) {
  auto u = parse_duration("UNLIMITED");
  EXPECT_EQ(u.kind, Duration::Kind::unlimited);
  EXPECT_TRUE(u.covers(100000000));
  EXPECT_FALSE(u.as_optional().has_value());
  for (const char* s : {"INVALID", "N/A", "NOT_SET", "", "1:xx", "-5"}) {
    auto d = parse_duration(s);
    EXPECT_EQ(d.kind, Duration::Kind::unknown) << s;
    EXPECT_FALSE(d.covers(0)) << s;
  }
}

TEST(SlurmDuration, FormatsTimeLimitRoundingUpToMinutes) {
  EXPECT_EQ(format_time_limit(3600), "01:00:00");
  EXPECT_EQ(format_time_limit(30), "00:01:00");
  EXPECT_EQ(format_time_limit(61), "00:02:00");
  EXPECT_EQ(format_time_limit(8 * 3600), "08:00:00");
  EXPECT_EQ(format_time_limit(86400 + 3600 * 2 + 60 * 3), "1-02:03:00");
  EXPECT_EQ(format_time_limit(0), "00:01:00");
}

TEST(SlurmMemory, ParsesSuffixesToMegabytes) {
  EXPECT_EQ(parse_memory_mb("4G"), 4096);
  EXPECT_EQ(parse_memory_mb("500M"), 500);
  EXPECT_EQ(parse_memory_mb("16000"), 16000);
  EXPECT_EQ(parse_memory_mb("1T"), 1024 * 1024);
  EXPECT_EQ(parse_memory_mb("1.5G"), 1536);
  EXPECT_EQ(parse_memory_mb("2048K"), 2);
  EXPECT_EQ(parse_memory_mb("0"), 0);
  EXPECT_FALSE(parse_memory_mb("N/A").has_value());
  EXPECT_FALSE(parse_memory_mb("lots").has_value());
}

TEST(SlurmTimestamp, ParsesSlurmAndRfc3339) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:01:00"), 60);
  EXPECT_EQ(parse_timestamp("2026-12-03T12:57:43Z"), parse_timestamp("2026-12-03T12:57:43"));
  EXPECT_FALSE(parse_timestamp("N/A").has_value());
  EXPECT_FALSE(parse_timestamp("Unknown").has_value());
  EXPECT_FALSE(parse_timestamp("None").has_value());
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-12-03T12:57:43")), "2026-12-03T12:57:43Z");
}
