#include <gtest/gtest.h>

#include <fstream>

#include "tccp/core/error.hpp"
#include "tccp/ssh/ssh_config.hpp"
#include "tccp/ssh/target.hpp"
#include "tccp/util/fs.hpp"

using namespace tccp;
using namespace tccp::ssh;

namespace {
SshConfig parse(const std::string& text) {
  return SshConfig::parse(text, "test_config", "/tmp");
}
} // namespace

TEST(SshConfigPatterns, WildcardsAndNegationFollowOpenSsh) {
  EXPECT_TRUE(host_matches("login1.cluster.edu", {"*.cluster.edu"}));
  EXPECT_TRUE(host_matches("c7", {"c?"}));
  EXPECT_FALSE(host_matches("c17", {"c?"}));
  EXPECT_TRUE(host_matches("c17", {"c*,!c2*"}));
  EXPECT_FALSE(host_matches("c21", {"c*,!c2*"}));
  EXPECT_FALSE(host_matches("other", {"!c*"})); // a negation alone matches nothing
  EXPECT_TRUE(host_matches("LOGIN", {"login"}));
}

TEST(SshConfigLookup, FirstValueWinsAndIdentityFilesAccumulate) {
  auto cfg = parse("Host login\n"
                   "  HostName 10.0.0.5\n"
                   "  Port 2222\n"
                   "  IdentityFile ~/.ssh/cluster_key\n"
                   "Host *\n"
                   "  Port 22\n"
                   "  User alice\n"
                   "  IdentityFile ~/.ssh/id_ed25519\n"
                   "  ServerAliveInterval 7\n");
  HostOptions o = cfg.lookup("login");
  EXPECT_EQ(o.hostname, "10.0.0.5");
  EXPECT_EQ(o.port, 2222);
  EXPECT_EQ(o.user, "alice");
  ASSERT_EQ(o.identity_files.size(), 2U);
  EXPECT_EQ(o.identity_files[0], "~/.ssh/cluster_key");
  EXPECT_EQ(o.server_alive_interval_s, 7);
  HostOptions other = cfg.lookup("elsewhere");
  EXPECT_FALSE(other.hostname.has_value());
  EXPECT_EQ(other.port, 22);
}

TEST(SshConfigLookup, AcceptsEqualsQuotesAndCaseInsensitiveKeywords) {
  auto cfg = parse("HOST=dev\n  hostname=\"127.0.0.1\"\n  PROXYJUMP gate@bastion:2200\n"
                   "  UserKnownHostsFile /a/known \"/b/known hosts\"\n  BatchMode yes\n");
  HostOptions o = cfg.lookup("dev");
  EXPECT_EQ(o.hostname, "127.0.0.1");
  EXPECT_EQ(o.proxy_jump, "gate@bastion:2200");
  ASSERT_TRUE(o.user_known_hosts_files.has_value());
  EXPECT_EQ(o.user_known_hosts_files->at(1), "/b/known hosts");
  EXPECT_EQ(o.batch_mode, true);
}

TEST(SshConfigLookup, MatchBlocksAreSkippedButMatchAllApplies) {
  auto cfg = parse("Match host login exec \"true\"\n  User wrong\n"
                   "Match all\n  Port 2200\n");
  HostOptions o = cfg.lookup("login");
  EXPECT_FALSE(o.user.has_value());
  EXPECT_EQ(o.port, 2200);
}

TEST(SshConfigLookup, IncludeIsReadRelativeToTheSshDirectory) {
  util::TempDir dir;
  std::ofstream(dir.path() / "cluster.conf") << "Host c1\n  HostName 10.1.1.1\n";
  auto cfg = SshConfig::parse("Include cluster.conf\nHost *\n  User bob\n", "main", dir.path());
  EXPECT_EQ(cfg.lookup("c1").hostname, "10.1.1.1");
  EXPECT_EQ(cfg.lookup("c1").user, "bob");
}

TEST(SshConfigLookup, IncludeInsideAHostBlockAppliesOnlyToThatHost) {
  util::TempDir dir;
  std::ofstream(dir.path() / "extra.conf") << "Port 2022\n";
  auto cfg = SshConfig::parse("Host a\n  Include extra.conf\n", "main", dir.path());
  EXPECT_EQ(cfg.lookup("a").port, 2022);
  EXPECT_FALSE(cfg.lookup("b").port.has_value());
}

TEST(SshConfigTokens, ExpandHostUserPortAndHome) {
  std::string home = util::home_dir().string();
  EXPECT_EQ(expand_tokens("~/.ssh/%r@%h:%p", "login", "alice", 22, "lg"),
            home + "/.ssh/alice@login:22");
  EXPECT_EQ(expand_tokens("%d/x/%n/%%", "h", "u", 1, "alias"), home + "/x/alias/%");
}

TEST(ResolveTarget, AliasGivesHostNamePortUserAndKeyFiles) {
  auto cfg = parse("Host cluster\n  HostName login.example.edu\n  Port 2200\n  User alice\n"
                   "  IdentityFile /keys/%r_key\n  IdentitiesOnly yes\n  ConnectTimeout 4\n");
  TargetSpec spec;
  spec.host = "cluster";
  spec.tccp_known_hosts = "/state/known_hosts";
  Target t = resolve_target(spec, cfg);
  EXPECT_EQ(t.hostname, "login.example.edu");
  EXPECT_EQ(t.port, 2200);
  EXPECT_EQ(t.user, "alice");
  ASSERT_EQ(t.identity_files.size(), 1U);
  EXPECT_EQ(t.identity_files[0], "/keys/alice_key");
  EXPECT_TRUE(t.identities_only);
  EXPECT_EQ(t.connect_timeout.count(), 4);
  EXPECT_EQ(t.describe(), "alice@cluster");
  EXPECT_EQ(t.account(), "alice@login.example.edu:2200");
  // OpenSSH's default files, then tccp's own.
  EXPECT_EQ(t.known_hosts_files.back(), "/state/known_hosts");
}

TEST(ResolveTarget, ProfileFieldsOverrideSshConfig) {
  auto cfg = parse("Host cluster\n  Port 2200\n  User alice\n  ProxyJump gate\n");
  TargetSpec spec;
  spec.host = "cluster";
  spec.port = 22;
  spec.user = "bob";
  spec.proxy_jump = "none";
  spec.known_hosts_files = {"/profile/known"};
  Target t = resolve_target(spec, cfg);
  EXPECT_EQ(t.port, 22);
  EXPECT_EQ(t.user, "bob");
  EXPECT_TRUE(t.jumps.empty());
  EXPECT_EQ(t.known_hosts_files.back(), "/profile/known");
}

TEST(ResolveTarget, ProxyJumpHopsAreResolvedThroughSshConfigInOrder) {
  auto cfg = parse("Host c1\n  ProxyJump login\n"
                   "Host login\n  HostName 10.77.1.2\n  Port 2222\n  ProxyJump gw\n"
                   "Host gw\n  HostName gw.example.edu\n"
                   "Host *\n  User tccpuser\n");
  TargetSpec spec;
  spec.host = "c1";
  Target t = resolve_target(spec, cfg);
  ASSERT_EQ(t.jumps.size(), 2U);
  EXPECT_EQ(t.jumps[0].hostname, "gw.example.edu");
  EXPECT_EQ(t.jumps[1].hostname, "10.77.1.2");
  EXPECT_EQ(t.jumps[1].port, 2222);
  EXPECT_EQ(t.jumps[1].user, "tccpuser");
  EXPECT_EQ(t.hostname, "c1");
}

TEST(ResolveTarget, ExplicitJumpWithUserAndPort) {
  TargetSpec spec;
  spec.host = "c2";
  spec.proxy_jump = "ops@bastion:2201,[fe80::1]:22";
  Target t = resolve_target(spec, SshConfig{});
  ASSERT_EQ(t.jumps.size(), 2U);
  EXPECT_EQ(t.jumps[0].user, "ops");
  EXPECT_EQ(t.jumps[0].port, 2201);
  EXPECT_EQ(t.jumps[1].hostname, "fe80::1");
}

TEST(ResolveTarget, AJumpLoopIsAConfigError) {
  auto cfg = parse("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
  TargetSpec spec;
  spec.host = "a";
  try {
    resolve_target(spec, cfg);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos);
  }
}

TEST(ParseHostPort, RejectsBadPorts) {
  EXPECT_THROW(parse_host_port("host:0"), Error);
  EXPECT_THROW(parse_host_port("host:70000"), Error);
  EXPECT_THROW(parse_host_port("host:x"), Error);
  EXPECT_EQ(parse_host_port("u@h:22").user, "u");
}

TEST(ResolveTarget, EmptyHostIsAConfigErrorWithSetupHint) {
  TargetSpec spec;
  try {
    resolve_target(spec, SshConfig{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_NE(e.hint().find("tccp setup"), std::string::npos);
  }
}

TEST(ResolveTarget, AProxyCommandIsReportedNotIgnored) {
  auto cfg = parse("Host gw\n  ProxyCommand ssh -W %h:%p bastion\n");
  TargetSpec spec;
  spec.host = "gw";
  try {
    resolve_target(spec, cfg);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_NE(e.hint().find("ProxyJump"), std::string::npos);
  }
  spec.proxy_jump = "bastion"; // a jump named by the profile wins
  EXPECT_EQ(resolve_target(spec, cfg).jumps.size(), 1U);
}
