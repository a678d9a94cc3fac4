#include <gtest/gtest.h>

#include <cstdlib>
#include <sys/stat.h>

#include "tccp/ssh/credentials.hpp"
#include "tccp/util/fs.hpp"

using namespace tccp;
using namespace tccp::ssh;

namespace {
// The keyring is reached only through a session bus; without one the
// store uses its file.
struct NoKeyring {
  std::string saved;
  bool had = false;
  NoKeyring() {
    if (const char* v = std::getenv("DBUS_SESSION_BUS_ADDRESS")) {
      saved = v;
      had = true;
    }
    ::unsetenv("DBUS_SESSION_BUS_ADDRESS");
  }
  ~NoKeyring() {
    if (had) {
      ::setenv("DBUS_SESSION_BUS_ADDRESS", saved.c_str(), 1);
    }
  }
};

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}
} // namespace

TEST(CredentialStore, FileBackendIsPrivateAndRoundTrips) {
  NoKeyring nk;
  util::TempDir dir;
  auto home = dir.path() / "tccp";
  CredentialStore store(home);
  EXPECT_FALSE(CredentialStore::keyring_available());
  EXPECT_FALSE(store.load_password("u@h:22").has_value());
  StoredWhere w = store.store_password("u@h:22", Secret("p\tw with spaces"));
  EXPECT_EQ(w.backend, CredentialBackend::file);
  EXPECT_EQ(w.description, (home / "credentials").string());
  EXPECT_EQ(mode_of(home), 0700U);
  EXPECT_EQ(mode_of(home / "credentials"), 0600U);
  // Not stored in clear text.
  EXPECT_EQ(util::read_file(home / "credentials").find("with spaces"), std::string::npos);
  auto back = store.load_password("u@h:22");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->value(), "p\tw with spaces");
}

TEST(CredentialStore, ReplaceAndEraseAffectOnlyThatAccount) {
  NoKeyring nk;
  util::TempDir dir;
  CredentialStore store(dir.path());
  store.store_password("a@h:22", Secret("one"));
  store.store_password("b@h:22", Secret("two"));
  store.store_password("a@h:22", Secret("three"));
  EXPECT_EQ(store.load_password("a@h:22")->value(), "three");
  store.erase_password("a@h:22");
  EXPECT_FALSE(store.load_password("a@h:22").has_value());
  EXPECT_EQ(store.load_password("b@h:22")->value(), "two");
}
