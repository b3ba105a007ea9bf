// resolveUser against passwd/group text: the forms Docker accepts and runc's rules.
#include <gtest/gtest.h>

#include "engine/user.h"

namespace hull::engine {
namespace {

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "nohome:x:1001:1001::/:/bin/sh\n"
    "broken:x:notanumber:1::/x:/bin/sh\n"
    "short:x\n";

const std::string kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "app:x:1000:\n"
    "video:x:44:app\n"
    "audio:x:29:other\n"
    "staff:x:50:app,root\n";

TEST(ResolveUser, EmptyIsRootFromPasswd) {
  auto u = resolveUser("", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/root");
  EXPECT_EQ(u->name, "root");
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 50}));
}

TEST(ResolveUser, ByName) {
  auto u = resolveUser("app", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/app");
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 44, 50}));
}

TEST(ResolveUser, ByKnownUidTakesPasswdEntry) {
  auto u = resolveUser("1000", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->name, "app");
  EXPECT_EQ(u->home, "/home/app");
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 44, 50}));
}

TEST(ResolveUser, UnknownUidIsAllowedWithRootGroupAndSlashHome) {
  auto u = resolveUser("4242", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/");
  EXPECT_TRUE(u->additional_gids.empty());
}

TEST(ResolveUser, UnknownNameIsDockersError) {
  auto u = resolveUser("nobody", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(u.error().message, "unable to find user nobody: no matching entries in passwd file");
}

TEST(ResolveUser, NameWithoutPasswdFileFails) {
  auto u = resolveUser("app", std::nullopt, std::nullopt);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message, "unable to find user app: no matching entries in passwd file");
}

TEST(ResolveUser, NumericWithoutFiles) {
  auto u = resolveUser("1000:2000", std::nullopt, std::nullopt);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 2000u);
  EXPECT_EQ(u->home, "/");
}

TEST(ResolveUser, NameAndGroupNameDropsSupplementaryGroups) {
  auto u = resolveUser("app:video", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 44u);
  EXPECT_TRUE(u->additional_gids.empty());
}

TEST(ResolveUser, UidAndUnknownNumericGid) {
  auto u = resolveUser("1000:777", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 777u);
  EXPECT_EQ(u->home, "/home/app");
}

TEST(ResolveUser, UnknownGroupNameIsDockersError) {
  auto u = resolveUser("app:nogroup", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message, "unable to find group nogroup: no matching entries in group file");
}

TEST(ResolveUser, EmptyHomeFallsBackToSlash) {
  auto u = resolveUser("nohome", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->home, "/");
}

TEST(ResolveUser, MalformedLinesAreSkipped) {
  EXPECT_FALSE(resolveUser("broken", kPasswd, kGroup));
  EXPECT_FALSE(resolveUser("short", kPasswd, kGroup));
}

TEST(ResolveUser, OutOfRangeIdsFail) {
  auto u = resolveUser("4294967296", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("range"), std::string::npos);
  EXPECT_FALSE(resolveUser("1:99999999999", kPasswd, kGroup));
}

TEST(ResolveUser, CrLfFiles) {
  auto u = resolveUser("app", "app:x:1000:1000::/home/app:/bin/sh\r\n", "g:x:5:app\r\n");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->home, "/home/app");
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{5}));
}

}  // namespace
}  // namespace hull::engine
