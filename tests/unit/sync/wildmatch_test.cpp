#include <gtest/gtest.h>

#include "tccp/sync/wildmatch.hpp"

using tccp::sync::glob_match;
using tccp::sync::GlobMode;

namespace {
bool path(const char* p, const char* t) {
  return glob_match(p, t, GlobMode::path);
}
bool name(const char* p, const char* t) {
  return glob_match(p, t, GlobMode::basename);
}
} // namespace

TEST(Glob, LiteralsAndQuestionMark) {
  EXPECT_TRUE(path("foo", "foo"));
  EXPECT_FALSE(path("foo", "fo"));
  EXPECT_FALSE(path("foo", "foox"));
  EXPECT_TRUE(path("f?o", "fxo"));
  EXPECT_FALSE(path("f?o", "f/o"));
  EXPECT_TRUE(name("f?o", "f/o"));
}

TEST(Glob, SingleStarStopsAtSlashInPathMode) {
  EXPECT_TRUE(path("*.py", "a.py"));
  EXPECT_FALSE(path("*.py", "d/a.py"));
  EXPECT_TRUE(name("*.py", "d/a.py"));
  EXPECT_TRUE(path("a/*", "a/b"));
  EXPECT_FALSE(path("a/*", "a/b/c"));
  EXPECT_TRUE(path("a/*/c", "a/b/c"));
  EXPECT_FALSE(path("a/*/c", "a/b/x/c"));
}

TEST(Glob, DoubleStarCrossesDirectoriesOnlyBetweenSlashes) {
  EXPECT_TRUE(path("**/foo", "foo"));
  EXPECT_TRUE(path("**/foo", "a/b/foo"));
  EXPECT_TRUE(path("a/**/b", "a/b"));
  EXPECT_TRUE(path("a/**/b", "a/x/y/b"));
  EXPECT_TRUE(path("a/**", "a/x/y"));
  EXPECT_FALSE(path("a/**", "a"));
  EXPECT_TRUE(path("**", "x/y/z"));
  // Glued to other characters, ** is an ordinary star.
  EXPECT_FALSE(path("a**/b", "ax/y/b"));
  EXPECT_TRUE(path("a**/b", "axy/b"));
}

TEST(Glob, CharacterClasses) {
  EXPECT_TRUE(path("[abc]", "b"));
  EXPECT_FALSE(path("[abc]", "d"));
  EXPECT_TRUE(path("[a-c]x", "bx"));
  EXPECT_TRUE(path("[!a-c]", "d"));
  EXPECT_TRUE(path("[^a-c]", "d"));
  EXPECT_FALSE(path("[!a-c]", "a"));
  EXPECT_TRUE(path("[]]", "]"));
  EXPECT_TRUE(path("[a-]", "-"));
  EXPECT_TRUE(path("[[:digit:]]x", "7x"));
  EXPECT_FALSE(path("[[:digit:]]x", "ax"));
  EXPECT_TRUE(path("[[:alpha:][:digit:]]", "q"));
  EXPECT_FALSE(path("[[:nope:]]", "n")); // malformed class: never matches
  EXPECT_FALSE(path("[abc", "a"));       // unterminated: never matches
  EXPECT_FALSE(path("a[/]b", "a/b"));    // a class never matches '/' in path mode
}

TEST(Glob, BackslashEscapes) {
  EXPECT_TRUE(path("\\*", "*"));
  EXPECT_FALSE(path("\\*", "x"));
  EXPECT_TRUE(path("\\#x", "#x"));
  EXPECT_TRUE(path("a\\ ", "a "));
  EXPECT_FALSE(path("a\\", "a"));
}
