#include <algorithm>

#include <gtest/gtest.h>

#include "tccp/cli/dispatch.hpp"

using namespace tccp::cli;

TEST(Verbs, RegisterRunsConfigInit) {
  auto verb = find_verb("register");
  ASSERT_TRUE(verb.has_value());
  ASSERT_EQ(verb->stages.size(), 1u);
  EXPECT_EQ(expand_stage(verb->stages[0], {"--x"}),
            (std::vector<std::string>{"tccp-config", "init", "--x"}));
}

TEST(Verbs, RunIsThePipelineOfDocuments) {
  auto verb = find_verb("run");
  ASSERT_TRUE(verb.has_value());
  std::vector<std::string> tools;
  for (const auto& s : verb->stages) {
    tools.push_back(s.tool);
  }
  EXPECT_EQ(tools, (std::vector<std::string>{"tccp-config", "tccp-alloc", "tccp-sync",
                                             "tccp-launch", "tccp-logs"}));
  EXPECT_EQ(expand_stage(verb->stages[0], {"train", "--lr", "0.1"}),
            (std::vector<std::string>{"tccp-config", "resolve", "train"}));
  EXPECT_EQ(expand_stage(verb->stages[3], {"train", "--lr", "0.1"}),
            (std::vector<std::string>{"tccp-launch", "start", "--", "--lr", "0.1"}));
  // No extra args: no dangling "--", and no job name means the default job.
  EXPECT_EQ(expand_stage(verb->stages[3], {"train"}),
            (std::vector<std::string>{"tccp-launch", "start"}));
  EXPECT_EQ(expand_stage(verb->stages[0], {}),
            (std::vector<std::string>{"tccp-config", "resolve"}));
}

TEST(Verbs, ArgumentsPassUnchanged) {
  auto verb = find_verb("exec");
  ASSERT_TRUE(verb.has_value());
  EXPECT_EQ(expand_stage(verb->stages[0], {"ls -l", "a'b", "$HOME"}),
            (std::vector<std::string>{"tccp-connect", "exec", "ls -l", "a'b", "$HOME"}));
}

TEST(Verbs, NamesAreUniqueAndAVerbNamedLikeAToolRunsThatTool) {
  std::vector<std::string> names;
  for (const auto& v : verbs()) {
    names.push_back(v.name);
    EXPECT_FALSE(v.summary.empty()) << v.name;
    for (const auto& t : tools()) {
      if (t.name == v.name) { // `logs` the verb is `tccp-logs logs`
        EXPECT_EQ(v.stages.front().tool, "tccp-" + t.name);
      }
    }
  }
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

TEST(Verbs, EveryStageNamesAToolOfTheToolkit) {
  for (const auto& v : verbs()) {
    for (const auto& s : v.stages) {
      bool known = false;
      for (const auto& t : tools()) {
        known = known || s.tool == "tccp-" + t.name;
      }
      EXPECT_TRUE(known) << v.name << " runs " << s.tool;
    }
  }
}

TEST(Verbs, EveryGuideReplCommandIsAVerb) {
  for (const char* name :
       {"run",      "view",  "restart", "cancel",  "jobs",       "logs",    "tail",   "output",
        "initlogs", "open",  "ssh",     "exec",    "clusterssh", "info",    "status", "allocs",
        "dealloc",  "clean", "return",  "refresh", "setup",      "register"}) {
    EXPECT_TRUE(find_verb(name).has_value()) << name;
  }
}
