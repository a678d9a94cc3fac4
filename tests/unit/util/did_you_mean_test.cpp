#include <gtest/gtest.h>

#include "tccp/util/strings.hpp"

using namespace tccp::util;

TEST(EditDistance, SwappedNeighboursAreOneEdit) {
  EXPECT_EQ(edit_distance("memroy", "memory"), 1u);
  EXPECT_EQ(edit_distance("trian", "train"), 1u);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(DidYouMean, SwapsAreNearMisses) {
  std::vector<std::string> keys{"host", "port", "user"};
  EXPECT_EQ(did_you_mean("prot", keys), "port");
  EXPECT_EQ(did_you_mean("trian", std::vector<std::string>{"train", "eval"}), "train");
  EXPECT_EQ(did_you_mean("confg", std::vector<std::string>{"config", "connect"}), "config");
}
