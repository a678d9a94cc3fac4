#include <fstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tccp/util/fs.hpp"

using namespace tccp::util;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) {
    ++n;
  }
  return n;
}
} // namespace

TEST(LineReader, GivesEachLineWithWhereItIsEvenAcrossItsBuffer) {
  TempDir dir;
  std::string long_line(200000, 'x'); // longer than the reader's buffer
  atomic_write_file(dir.path() / "f", "one\n\n" + long_line + "\nlast");
  LineReader in(dir.path() / "f");
  ASSERT_TRUE(in.is_open());
  std::string_view line;
  bool terminated = false;
  ASSERT_TRUE(in.next(&line, &terminated));
  EXPECT_EQ(line, "one");
  EXPECT_TRUE(terminated);
  EXPECT_EQ(in.line_offset(), 0u);
  EXPECT_EQ(in.offset(), 4u);
  ASSERT_TRUE(in.next(&line, &terminated));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(in.next(&line, &terminated));
  EXPECT_EQ(line, long_line);
  EXPECT_EQ(in.line_offset(), 5u);
  EXPECT_EQ(in.offset(), 5u + long_line.size() + 1);
  ASSERT_TRUE(in.next(&line, &terminated));
  EXPECT_EQ(line, "last");
  EXPECT_FALSE(terminated);
  EXPECT_FALSE(in.next(&line, &terminated));
}

TEST(LineReader, AnAbsentFileIsNotOpenAndHasNoLines) {
  TempDir dir;
  LineReader in(dir.path() / "absent");
  EXPECT_FALSE(in.is_open());
  std::string_view line;
  bool terminated = false;
  EXPECT_FALSE(in.next(&line, &terminated));
}

TEST(AtomicFileWriter, ReplacesTheFileOnlyOnCommit) {
  TempDir dir;
  fs::path f = dir.path() / "state";
  atomic_write_file(f, "old\n");
  {
    AtomicFileWriter out(f);
    out.write("new, never committed\n");
  }
  EXPECT_EQ(slurp(f), "old\n");
  EXPECT_EQ(entries_in(dir.path()), 1u); // no temp file left behind
  AtomicFileWriter out(f, 0600);
  out.write("digest ");
  out.write("0000");
  out.write(std::string(100000, 'l')); // past its buffer
  out.write_at(7, "abcd");
  out.commit();
  EXPECT_EQ(slurp(f), "digest abcd" + std::string(100000, 'l'));
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(entries_in(dir.path()), 1u);
}
