#include <gtest/gtest.h>

#include "tccp/util/strings.hpp"

using namespace tccp::util;

TEST(ShellQuote, PlainWordIsUnchanged) {
  EXPECT_EQ(shell_quote("train.py"), "train.py");
}

TEST(ShellQuote, SpacesQuotesAndDollarAreSingleQuoted) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote(""), "''");
}

TEST(ShellSplit, HandlesQuotesAndEscapes) {
  EXPECT_EQ(shell_split("--epochs 100 --lr 0.001"),
            (std::vector<std::string>{"--epochs", "100", "--lr", "0.001"}));
  EXPECT_EQ(shell_split(R"(--name "my run" --x 'a $b' c\ d)"),
            (std::vector<std::string>{"--name", "my run", "--x", "a $b", "c d"}));
  EXPECT_EQ(shell_split(R"("a\"b")"), (std::vector<std::string>{"a\"b"}));
  EXPECT_TRUE(shell_split("   ").empty());
}

TEST(ShellSplit, UnterminatedQuoteThrows) {
  EXPECT_THROW(shell_split("'abc"), std::invalid_argument);
  EXPECT_THROW(shell_split("\"abc"), std::invalid_argument);
}

TEST(ShellSplit, RoundTripsThroughShellJoin) {
  std::vector<std::string> words{"a b", "it's", "$x", "\"q\"", "back\\slash", ""};
  EXPECT_EQ(shell_split(shell_join(words)), words);
}

TEST(DidYouMean, FindsNearMissOnly) {
  std::vector<std::string> keys{"memory", "cpus", "gpu", "partition"};
  EXPECT_EQ(did_you_mean("memroy", keys), "memory");
  EXPECT_EQ(did_you_mean("mem", keys), "memory");
  EXPECT_EQ(did_you_mean("cpu", keys), "cpus");
  EXPECT_FALSE(did_you_mean("banana", keys).has_value());
}
