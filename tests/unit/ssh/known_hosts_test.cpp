#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

#include "tccp/ssh/known_hosts.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"
#include "tccp/util/strings.hpp"

using namespace tccp;
using namespace tccp::ssh;

namespace {

// A fresh key pair made by OpenSSH; returns "type base64" of the public key.
std::string make_key(const util::TempDir& dir, const std::string& name, const std::string& type) {
  auto path = (dir.path() / name).string();
  auto r = util::run_process({"ssh-keygen", "-q", "-t", type, "-N", "", "-f", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto words = util::split(util::trim(util::read_file(path + ".pub")), ' ');
  return words[0] + " " + words[1];
}

std::string blob_of(const std::string& pub) {
  return *base64_decode(util::split(pub, ' ')[1]);
}

} // namespace

class KnownHostsTest : public ::testing::Test {
protected:
  util::TempDir dir;
  std::string ed = make_key(dir, "ed", "ed25519");
  std::string ed2 = make_key(dir, "ed2", "ed25519");
  std::string ec = make_key(dir, "ec", "ecdsa");
};

TEST_F(KnownHostsTest, FingerprintIsWhatSshKeygenPrints) {
  auto r = util::run_process({"ssh-keygen", "-lf", (dir.path() / "ed.pub").string()});
  ASSERT_EQ(r.exit_code, 0);
  std::string expected = util::split(r.out, ' ')[1];
  EXPECT_EQ(fingerprint_sha256(blob_of(ed)), expected);
  EXPECT_EQ(key_type_of_blob(blob_of(ed)), "ssh-ed25519");
}

TEST_F(KnownHostsTest, PlainEntryMatchesOnlyItsPort) {
  KnownHosts kh;
  kh.add_text("login " + ed + "\n[login]:2222 " + ed2 + "\n", "kh");
  EXPECT_EQ(kh.check("login", 22, blob_of(ed)).status, HostKeyStatus::match);
  EXPECT_EQ(kh.check("login", 2222, blob_of(ed2)).status, HostKeyStatus::match);
  // Unlike libssh2's checker, a port-22 line does not vouch for port 2299.
  EXPECT_EQ(kh.check("login", 2299, blob_of(ed)).status, HostKeyStatus::unknown);
}

TEST_F(KnownHostsTest, ChangedKeyIsAMismatchNamingTheFileLine) {
  KnownHosts kh;
  kh.add_text("# comment\nlogin " + ed + "\n", "/some/known_hosts");
  HostKeyCheck c = kh.check("login", 22, blob_of(ed2));
  EXPECT_EQ(c.status, HostKeyStatus::mismatch);
  EXPECT_EQ(c.file, "/some/known_hosts");
  EXPECT_EQ(c.line, 2);
  EXPECT_EQ(c.known_fingerprint, fingerprint_sha256(blob_of(ed)));
}

TEST_F(KnownHostsTest, HostKnownOnlyUnderAnotherTypeIsNotAMismatch) {
  KnownHosts kh;
  kh.add_text("login " + ec + "\n", "kh");
  HostKeyCheck c = kh.check("login", 22, blob_of(ed));
  EXPECT_EQ(c.status, HostKeyStatus::other_type);
  ASSERT_EQ(c.known_types.size(), 1U);
  EXPECT_EQ(c.known_types[0], "ecdsa-sha2-nistp256");
  EXPECT_EQ(kh.known_types("login", 22), std::vector<std::string>{"ecdsa-sha2-nistp256"});
}

TEST_F(KnownHostsTest, HashedEntriesFromSshKeygenMatch) {
  auto file = dir.path() / "known_hosts";
  std::ofstream(file) << "login " << ed << "\n[10.0.0.1]:2200 " << ec << "\n";
  auto r = util::run_process({"ssh-keygen", "-q", "-H", "-f", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string text = util::read_file(file);
  ASSERT_NE(text.find("|1|"), std::string::npos);
  ASSERT_EQ(text.find("login"), std::string::npos);
  KnownHosts kh;
  kh.load(file);
  EXPECT_EQ(kh.check("login", 22, blob_of(ed)).status, HostKeyStatus::match);
  EXPECT_EQ(kh.check("10.0.0.1", 2200, blob_of(ec)).status, HostKeyStatus::match);
  EXPECT_EQ(kh.check("10.0.0.1", 22, blob_of(ec)).status, HostKeyStatus::unknown);
}

TEST_F(KnownHostsTest, ABadLineIsSkippedNotTheWholeFile) {
  KnownHosts kh;
  kh.add_text("garbage\nlogin ssh-ed25519 not-base64!!\nlogin " + ed + "\n", "kh");
  EXPECT_EQ(kh.bad_lines(), 2);
  EXPECT_EQ(kh.check("login", 22, blob_of(ed)).status, HostKeyStatus::match);
}

TEST_F(KnownHostsTest, PatternsWildcardsNegationAndRevoked) {
  KnownHosts kh;
  kh.add_text("*.cluster.edu,!evil.cluster.edu " + ed + "\n@revoked * " + ed2 +
                  "\n"
                  "@cert-authority *.cluster.edu " +
                  ec + "\n",
              "kh");
  EXPECT_EQ(kh.check("c1.cluster.edu", 22, blob_of(ed)).status, HostKeyStatus::match);
  EXPECT_EQ(kh.check("evil.cluster.edu", 22, blob_of(ed)).status, HostKeyStatus::unknown);
  EXPECT_EQ(kh.check("anything", 22, blob_of(ed2)).status, HostKeyStatus::revoked);
}

TEST_F(KnownHostsTest, AppendRecordsAPrivateFileThatThenMatches) {
  auto file = dir.path() / "state" / "known_hosts";
  append_known_host(file, "10.77.1.2", 2222, blob_of(ed));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(util::read_file(file), "[10.77.1.2]:2222 " + ed + "\n");
  KnownHosts kh;
  kh.load(file);
  EXPECT_EQ(kh.check("10.77.1.2", 2222, blob_of(ed)).status, HostKeyStatus::match);
}

TEST(Base64, RoundTripsAndRejectsMalformedText) {
  for (const std::string& s :
       std::vector<std::string>{"a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_FALSE(base64_decode("abc").has_value());
  EXPECT_FALSE(base64_decode("ab!d").has_value());
  EXPECT_EQ(known_hosts_name("h", 22), "h");
  EXPECT_EQ(known_hosts_name("h", 2222), "[h]:2222");
}
