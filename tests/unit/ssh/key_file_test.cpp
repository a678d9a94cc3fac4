#include <gtest/gtest.h>

#include "tccp/ssh/key_file.hpp"
#include "tccp/util/fs.hpp"
#include "tccp/util/process.hpp"

using namespace tccp;
using namespace tccp::ssh;

namespace {
std::filesystem::path keygen(const util::TempDir& dir, const std::string& name,
                             std::vector<std::string> extra) {
  auto path = dir.path() / name;
  std::vector<std::string> argv{"ssh-keygen", "-q", "-f", path.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = util::run_process(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}
} // namespace

TEST(KeyFile, PlainEd25519IsUsable) {
  util::TempDir dir;
  auto info = inspect_key_file(keygen(dir, "k", {"-t", "ed25519", "-N", ""}));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->type, "ssh-ed25519");
  EXPECT_FALSE(info->encrypted);
  EXPECT_TRUE(info->problem.empty());
}

TEST(KeyFile, EncryptedWithTheDefaultCipherIsUsable) {
  util::TempDir dir;
  auto info = inspect_key_file(keygen(dir, "k", {"-t", "ecdsa", "-N", "secret phrase"}));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->type, "ecdsa-sha2-nistp256");
  EXPECT_TRUE(info->encrypted);
  EXPECT_EQ(info->cipher, "aes256-ctr");
  EXPECT_TRUE(info->problem.empty());
}

TEST(KeyFile, AesGcmEncryptionIsExplainedWithTheFix) {
  util::TempDir dir;
  auto info = inspect_key_file(
      keygen(dir, "k", {"-t", "ed25519", "-N", "pw", "-Z", "aes256-gcm@openssh.com"}));
  ASSERT_TRUE(info.has_value());
  EXPECT_NE(info->problem.find("aes256-gcm@openssh.com"), std::string::npos);
  EXPECT_NE(info->fix.find("ssh-keygen -p -Z aes256-ctr"), std::string::npos);
}

TEST(KeyFile, RsaKeysAreRefusedWithTheEd25519Fix) {
  util::TempDir dir;
  for (auto format : {std::vector<std::string>{"-t", "rsa", "-b", "2048", "-N", ""},
                      std::vector<std::string>{"-t", "rsa", "-b", "2048", "-N", "", "-m", "PEM"}}) {
    auto path = keygen(dir, "rsa" + std::to_string(format.size()), format);
    std::filesystem::remove(path.string() + ".pub"); // decided from the private file alone
    auto info = inspect_key_file(path);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->type, "ssh-rsa");
    EXPECT_EQ(info->problem, rsa_key_problem());
    EXPECT_NE(info->fix.find("ssh-keygen -t ed25519"), std::string::npos);
    EXPECT_NE(info->fix.find("password + MFA"), std::string::npos);
  }
}

TEST(KeyFile, MissingFileIsNullopt) {
  util::TempDir dir;
  EXPECT_FALSE(inspect_key_file(dir.path() / "nope").has_value());
}
