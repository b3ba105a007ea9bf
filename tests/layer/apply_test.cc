// applyLayer on well-formed layers: round trips through writeTree, whiteouts, opaque
// directories, hard links, read-only directories, modes, owners and times.
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layer/layer.h"
#include "test_util.h"

namespace hull::layer {
namespace {

using ::testing::HasSubstr;
using testing::readString;
using testing::shell;
using testing::StringReader;
using testing::StringWriter;
using testing::TempDir;
using testing::writeString;

struct stat lstatOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

class ApplyTest : public ::testing::Test {
 protected:
  fs::path path(std::string_view rel) { return dir_.path() / rel; }

  // Tars `src` with GNU tar (names as Docker writes them: relative, no "./").
  std::string tarOf(const fs::path& src, const std::string& names) {
    return shell("tar --numeric-owner -C '" + src.string() + "' -cf - " + names);
  }
  Result<ApplyStats> apply(const std::string& tar, const fs::path& dest, ApplyOptions o = {}) {
    StringReader in(tar, 100000);
    return applyLayer(in, dest, o);
  }

  TempDir dir_;
};

TEST_F(ApplyTest, RoundTripThroughWriteTree) {
  fs::path src = path("src");
  fs::create_directories(src / "etc/ro");
  writeString(src / "etc/ro/file", "inside a read-only directory");
  writeString(src / "big", testing::sampleData(3u << 20));
  writeString(src / "exec", "#!/bin/sh\n");
  ::chmod((src / "exec").c_str(), 0750);
  fs::create_symlink("/etc/ro/file", src / "abs-link");
  fs::create_hard_link(src / "exec", src / "exec-link");
  ASSERT_EQ(::mkfifo((src / "fifo").c_str(), 0640), 0);
  ::chmod((src / "etc/ro").c_str(), 0555);
  timespec old[2] = {{0, UTIME_OMIT}, {1000000000, 5}};
  ::utimensat(AT_FDCWD, (src / "etc/ro").c_str(), old, 0);
  ::utimensat(AT_FDCWD, (src / "abs-link").c_str(), old, AT_SYMLINK_NOFOLLOW);

  StringWriter first;
  ASSERT_TRUE(writeTree(src, first).has_value());
  fs::create_directories(path("dest"));
  auto stats = apply(first.data(), path("dest"), ApplyOptions{.allow_devices = true});
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->entries, 8);
  EXPECT_EQ(stats->bytes, (3 << 20) + 10 + 28);

  StringWriter second;
  ASSERT_TRUE(writeTree(path("dest"), second).has_value());
  EXPECT_EQ(first.data(), second.data()) << "apply then writeTree must give the same tar";
  EXPECT_EQ(lstatOf(path("dest/etc/ro")).st_mode & 07777, 0555u);
  EXPECT_EQ(lstatOf(path("dest/etc/ro")).st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(lstatOf(path("dest/abs-link")).st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(lstatOf(path("dest/exec")).st_ino, lstatOf(path("dest/exec-link")).st_ino);
  EXPECT_TRUE(S_ISFIFO(lstatOf(path("dest/fifo")).st_mode));
}

TEST_F(ApplyTest, WhiteoutsRemoveLowerEntries) {
  fs::create_directories(path("dest/a/sub"));
  writeString(path("dest/a/b"), "lower");
  writeString(path("dest/a/c"), "lower");
  writeString(path("dest/a/sub/deep"), "lower");
  writeString(path("dest/x"), "lower");
  fs::create_directories(path("src/a"));
  writeString(path("src/a/.wh.b"), "");
  writeString(path("src/a/.wh.sub"), "");
  writeString(path("src/.wh.x"), "");
  writeString(path("src/.wh.missing"), "");
  auto stats = apply(tarOf(path("src"), "--no-recursion a a/.wh.b a/.wh.sub .wh.x .wh.missing"),
                     path("dest"));
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->whiteouts, 4);
  EXPECT_FALSE(fs::exists(path("dest/a/b")));
  EXPECT_FALSE(fs::exists(path("dest/a/sub")));
  EXPECT_FALSE(fs::exists(path("dest/x")));
  EXPECT_FALSE(fs::exists(path("dest/.wh.x")));
  EXPECT_EQ(readString(path("dest/a/c")), "lower");
}

TEST_F(ApplyTest, WhiteoutDoesNotHideItsOwnLayer) {
  fs::create_directories(path("dest"));
  fs::create_directories(path("src"));
  writeString(path("src/n"), "this layer");
  writeString(path("src/.wh.n"), "");
  ASSERT_TRUE(apply(tarOf(path("src"), "n .wh.n"), path("dest")).has_value());
  EXPECT_EQ(readString(path("dest/n")), "this layer");
}

// The opaque marker hides everything from below, before or after this layer's own entries.
class OpaqueTest : public ApplyTest, public ::testing::WithParamInterface<bool> {};

TEST_P(OpaqueTest, KeepsOnlyThisLayer) {
  fs::create_directories(path("dest/d/sub"));
  writeString(path("dest/d/old"), "lower");
  writeString(path("dest/d/sub/old2"), "lower");
  writeString(path("dest/keep"), "lower");
  fs::create_directories(path("src/d/sub"));
  writeString(path("src/d/new"), "upper");
  writeString(path("src/d/sub/new2"), "upper");
  writeString(path("src/d/.wh..wh..opq"), "");
  std::string names =
      GetParam() ? "d d/.wh..wh..opq d/new d/sub d/sub/new2" : "d/new d/sub/new2 d/.wh..wh..opq";
  auto stats = apply(tarOf(path("src"), "--no-recursion " + names), path("dest"));
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_FALSE(fs::exists(path("dest/d/old")));
  EXPECT_FALSE(fs::exists(path("dest/d/sub/old2")));
  EXPECT_FALSE(fs::exists(path("dest/d/.wh..wh..opq")));
  EXPECT_EQ(readString(path("dest/d/new")), "upper");
  EXPECT_EQ(readString(path("dest/d/sub/new2")), "upper");
  EXPECT_EQ(readString(path("dest/keep")), "lower");
}
INSTANTIATE_TEST_SUITE_P(MarkerFirstOrLast, OpaqueTest, ::testing::Bool());

TEST_F(ApplyTest, ReplacesAcrossTypes) {
  fs::create_directories(path("dest/was-dir/child"));
  writeString(path("dest/was-file"), "lower");
  fs::create_symlink("elsewhere", path("dest/was-link"));
  fs::create_directories(path("src/was-file"));
  writeString(path("src/was-dir"), "now a file");
  writeString(path("src/was-link"), "now a file too");
  auto stats = apply(tarOf(path("src"), "was-dir was-file was-link"), path("dest"));
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(readString(path("dest/was-dir")), "now a file");
  EXPECT_TRUE(fs::is_directory(path("dest/was-file")));
  EXPECT_EQ(readString(path("dest/was-link")), "now a file too");
}

TEST_F(ApplyTest, SymlinkedParentsResolveInsideDest) {
  fs::create_directories(path("dest/usr/lib"));
  fs::create_symlink("/usr/lib", path("dest/lib"));  // absolute: means dest/usr/lib
  fs::create_directories(path("src/lib"));
  writeString(path("src/lib/libx.so"), "x");
  ASSERT_TRUE(apply(tarOf(path("src"), "lib/libx.so"), path("dest")).has_value());
  EXPECT_EQ(readString(path("dest/usr/lib/libx.so")), "x");
  EXPECT_TRUE(fs::is_symlink(path("dest/lib")));
}

TEST_F(ApplyTest, SetuidAndOwners) {
  fs::create_directories(path("src"));
  fs::create_directories(path("dest"));
  writeString(path("src/su"), "s");
  ASSERT_EQ(::chown(path("src/su").c_str(), 1234, 5678), 0);
  ::chmod((path("src/su")).c_str(), 04755);  // after chown, which clears setuid
  std::string tar = tarOf(path("src"), "su");
  ASSERT_TRUE(apply(tar, path("dest")).has_value());
  EXPECT_EQ(lstatOf(path("dest/su")).st_mode & 07777, 0755u);
  EXPECT_EQ(lstatOf(path("dest/su")).st_uid, ::getuid());
  ASSERT_TRUE(
      apply(tar, path("dest"), {.allow_setuid = true, .preserve_owners = true}).has_value());
  EXPECT_EQ(lstatOf(path("dest/su")).st_mode & 07777, 04755u);
  EXPECT_EQ(lstatOf(path("dest/su")).st_uid, 1234u);
  EXPECT_EQ(lstatOf(path("dest/su")).st_gid, 5678u);
}

TEST_F(ApplyTest, SparseFileKeepsItsSize) {
  fs::create_directories(path("src"));
  fs::create_directories(path("dest"));
  shell("truncate -s 64M '" + path("src/sparse").string() + "' && printf tail >> '" +
        path("src/sparse").string() + "'");
  std::string tar = shell("tar -S -C '" + path("src").string() + "' -cf - sparse");
  ASSERT_LT(tar.size(), 1u << 20);
  ASSERT_TRUE(apply(tar, path("dest")).has_value());
  EXPECT_EQ(fs::file_size(path("dest/sparse")), (64u << 20) + 4);
  EXPECT_LT(lstatOf(path("dest/sparse")).st_blocks * 512, 1 << 20);
}

TEST_F(ApplyTest, GzipLayer) {
  fs::create_directories(path("src/d"));
  fs::create_directories(path("dest"));
  writeString(path("src/d/f"), "zipped");
  std::string tar = tarOf(path("src"), "d");
  StringWriter gz;
  auto w = compressingWriter(gz, Compression::kGzip, 2);
  ASSERT_TRUE(w->write(tar.data(), tar.size()).has_value());
  ASSERT_TRUE(w->finish().has_value());
  ASSERT_TRUE(apply(gz.data(), path("dest")).has_value());
  EXPECT_EQ(readString(path("dest/d/f")), "zipped");
}

TEST_F(ApplyTest, DevicesOnlyWhenAllowed) {
  fs::create_directories(path("src"));
  fs::create_directories(path("dest"));
  if (::mknod(path("src/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs CAP_MKNOD";
  }
  std::string tar = tarOf(path("src"), "null");
  auto refused = apply(tar, path("dest"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kPermission);
  EXPECT_THAT(refused.error().message, HasSubstr("entry \"null\""));
  ASSERT_TRUE(apply(tar, path("dest"), {.allow_devices = true}).has_value());
  EXPECT_TRUE(S_ISCHR(lstatOf(path("dest/null")).st_mode));
  EXPECT_EQ(lstatOf(path("dest/null")).st_rdev, makedev(1, 3));
}

TEST_F(ApplyTest, MissingDestination) {
  auto r = apply(std::string(1024, '\0'), path("nowhere"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_THAT(r.error().message, HasSubstr("nowhere"));
}

}  // namespace
}  // namespace hull::layer
