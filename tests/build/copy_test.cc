// COPY's rules (docs/copy-add.md): sources, globs, .dockerignore, directory contents, trailing
// slashes, workdir, --chown, --chmod, --parents, --exclude, heredocs. The "root" is a plain
// temporary directory standing for a mounted root file system.
#include <gtest/gtest.h>

#include "copy_test_util.h"
#include "dockerfile/dockerignore.h"

namespace hull::build {
namespace {

using testing::copyInto;
using testing::modeOf;
using testing::readText;
using testing::spec;
using testing::TempDir;
using testing::writeText;

class CopyTest : public ::testing::Test {
 protected:
  fs::path ctx() const { return context_.path(); }
  fs::path root() const { return root_.path(); }
  TempDir context_, root_;
};

TEST_F(CopyTest, FileToFilePath) {
  writeText(ctx() / "a.txt", "hello", 0640);
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"a.txt"}, "/app/b.txt")));
  EXPECT_EQ(readText(root() / "app/b.txt"), "hello");
  EXPECT_EQ(modeOf(root() / "app/b.txt") & 07777, 0640u);
  EXPECT_EQ(modeOf(root() / "app") & 07777, 0755u);  // created parents
}

TEST_F(CopyTest, FileToTrailingSlashIsDirectory) {
  writeText(ctx() / "a.txt", "hello");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"a.txt"}, "/app/")));
  EXPECT_EQ(readText(root() / "app/a.txt"), "hello");
}

TEST_F(CopyTest, FileIntoExistingDirectory) {
  writeText(ctx() / "a.txt", "hello");
  fs::create_directories(root() / "app");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"a.txt"}, "/app")));
  EXPECT_EQ(readText(root() / "app/a.txt"), "hello");
}

TEST_F(CopyTest, RelativeDestUsesWorkdir) {
  writeText(ctx() / "a.txt", "x");
  auto s = spec({"a.txt"}, "sub/");
  s.workdir = "/work";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "work/sub/a.txt"), "x");
  s.dest = ".";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "work/a.txt"), "x");
}

TEST_F(CopyTest, DirectoryCopiesItsContents) {
  writeText(ctx() / "src/one.py", "1");
  writeText(ctx() / "src/pkg/two.py", "2", 0755);
  fs::create_symlink("one.py", ctx() / "src/link");
  fs::create_symlink("/etc/passwd", ctx() / "src/abs");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"src"}, "/app")));
  EXPECT_EQ(readText(root() / "app/one.py"), "1");
  EXPECT_EQ(readText(root() / "app/pkg/two.py"), "2");
  EXPECT_FALSE(fs::exists(root() / "app/src"));
  EXPECT_EQ(modeOf(root() / "app/pkg/two.py") & 07777, 0755u);
  EXPECT_TRUE(S_ISLNK(modeOf(root() / "app/link")));
  EXPECT_EQ(fs::read_symlink(root() / "app/link"), "one.py");
  // Symlinks inside a copied directory are copied as they are, never followed.
  EXPECT_EQ(fs::read_symlink(root() / "app/abs"), "/etc/passwd");
}

TEST_F(CopyTest, TopLevelSymlinkSourceIsFollowed) {
  writeText(ctx() / "real.txt", "real");
  fs::create_symlink("real.txt", ctx() / "link.txt");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"link.txt"}, "/out/")));
  EXPECT_TRUE(S_ISREG(modeOf(root() / "out/link.txt")));
  EXPECT_EQ(readText(root() / "out/link.txt"), "real");
}

TEST_F(CopyTest, HardLinksBecomeCopies) {
  writeText(ctx() / "d/a", "same");
  fs::create_hard_link(ctx() / "d/a", ctx() / "d/b");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"d"}, "/x")));
  EXPECT_EQ(readText(root() / "x/a"), "same");
  EXPECT_EQ(readText(root() / "x/b"), "same");
}

TEST_F(CopyTest, GlobsAndMultipleSourcesMakeDestADirectory) {
  writeText(ctx() / "a.py", "a");
  writeText(ctx() / "b.py", "b");
  writeText(ctx() / "c.txt", "c");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"*.py"}, "/dst")));
  EXPECT_EQ(readText(root() / "dst/a.py"), "a");
  EXPECT_EQ(readText(root() / "dst/b.py"), "b");
  EXPECT_FALSE(fs::exists(root() / "dst/c.txt"));
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"[ab].py", "c.t?t"}, "/two")));
  EXPECT_TRUE(fs::exists(root() / "two/a.py"));
  EXPECT_TRUE(fs::exists(root() / "two/c.txt"));
}

TEST_F(CopyTest, GlobMatchingNothingFails) {
  writeText(ctx() / "a.py", "a");
  auto r = copyInto(ctx(), root(), spec({"*.rs"}, "/dst/"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no source files were specified"), std::string::npos);
}

TEST_F(CopyTest, MissingSourceFails) {
  auto r = copyInto(ctx(), root(), spec({"nope.txt"}, "/dst/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_NE(r.error().message.find("file not found in build context: nope.txt"), std::string::npos);
}

TEST_F(CopyTest, DockerignoreHidesSources) {
  writeText(ctx() / "secret.env", "s");
  writeText(ctx() / "app/main.py", "m");
  writeText(ctx() / "app/cache.pyc", "c");
  auto ignore = dockerfile::IgnoreMatcher::parse("secret.env\n**/*.pyc\n");
  ASSERT_TRUE(ignore);
  auto r = copyInto(ctx(), root(), spec({"secret.env"}, "/x/"), &*ignore);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"."}, "/all/"), &*ignore));
  EXPECT_TRUE(fs::exists(root() / "all/app/main.py"));
  EXPECT_FALSE(fs::exists(root() / "all/app/cache.pyc"));
  EXPECT_FALSE(fs::exists(root() / "all/secret.env"));
}

TEST_F(CopyTest, IgnoredDirectoryKeepsReincludedFiles) {
  writeText(ctx() / "docs/keep.md", "k");
  writeText(ctx() / "docs/drop.txt", "d");
  auto ignore = dockerfile::IgnoreMatcher::parse("docs\n!docs/*.md\n");
  ASSERT_TRUE(ignore);
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"docs"}, "/d/"), &*ignore));
  EXPECT_TRUE(fs::exists(root() / "d/keep.md"));
  EXPECT_FALSE(fs::exists(root() / "d/drop.txt"));
  auto none = dockerfile::IgnoreMatcher::parse("docs\n!docs/*.rst\n");
  ASSERT_TRUE(none);
  EXPECT_FALSE(copyInto(ctx(), root(), spec({"docs"}, "/e/"), &*none));
}

TEST_F(CopyTest, ChmodOctal) {
  writeText(ctx() / "d/f", "f", 0600);
  auto s = spec({"d"}, "/d/");
  s.chmod = "751";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(modeOf(root() / "d/f") & 07777, 0751u);
  s.chmod = "u+x";
  EXPECT_FALSE(copyInto(ctx(), root(), s));
}

class CopyOwnerTest : public CopyTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    writeText(root() / "etc/passwd",
              "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
    writeText(root() / "etc/group", "root:x:0:\nstaff:x:50:\napp:x:1001:\n");
    writeText(ctx() / "d/f", "f");
    ::chown((ctx() / "d/f").c_str(), 4321, 4321);
  }
  struct stat statOf(const fs::path& p) {
    struct stat st = {};
    ::lstat(p.c_str(), &st);
    return st;
  }
};

TEST_F(CopyOwnerTest, DefaultOwnerIsRootNotTheSources) {
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"d"}, "/o/")));
  EXPECT_EQ(statOf(root() / "o/f").st_uid, 0u);
  EXPECT_EQ(statOf(root() / "o/f").st_gid, 0u);
}

TEST_F(CopyOwnerTest, ChownByNameUsesPrimaryGroup) {
  auto s = spec({"d"}, "/new/dir/");
  s.chown = "app";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(statOf(root() / "new/dir/f").st_uid, 1000u);
  EXPECT_EQ(statOf(root() / "new/dir/f").st_gid, 1001u);
  EXPECT_EQ(statOf(root() / "new/dir").st_uid, 1000u);  // directories COPY creates
  s.chown = "app:staff";
  s.dest = "/g/";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(statOf(root() / "g/f").st_gid, 50u);
}

TEST_F(CopyOwnerTest, ChownByNumber) {
  auto s = spec({"d"}, "/n/");
  s.chown = "7";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(statOf(root() / "n/f").st_uid, 7u);
  EXPECT_EQ(statOf(root() / "n/f").st_gid, 7u);
  s.chown = "7:8";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(statOf(root() / "n/f").st_gid, 8u);
}

TEST_F(CopyOwnerTest, UnknownNameFails) {
  auto s = spec({"d"}, "/n/");
  s.chown = "nobody-here";
  auto r = copyInto(ctx(), root(), s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown user nobody-here"), std::string::npos);
  s.chown = "app:nogroup";
  EXPECT_FALSE(copyInto(ctx(), root(), s));
}

TEST_F(CopyTest, ParentsKeepsThePath) {
  writeText(ctx() / "a/b/c.txt", "c");
  writeText(ctx() / "a/b/d/e.txt", "e");
  auto s = spec({"a/b/c.txt"}, "/p/");
  s.parents = true;
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "p/a/b/c.txt"), "c");
  s.sources = {"a/./b/d"};
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "p/b/d/e.txt"), "e");
  s.sources = {"a/*/c.txt"};
  s.dest = "/q/";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "q/a/b/c.txt"), "c");
}

TEST_F(CopyTest, ExcludeLeavesOutFiles) {
  writeText(ctx() / "src/keep.py", "k");
  writeText(ctx() / "src/skip.log", "s");
  writeText(ctx() / "src/sub/deep.log", "d");
  auto s = spec({"src"}, "/e/");
  s.excludes = {"*.log", "sub/*.log"};
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_TRUE(fs::exists(root() / "e/keep.py"));
  EXPECT_FALSE(fs::exists(root() / "e/skip.log"));
  EXPECT_FALSE(fs::exists(root() / "e/sub/deep.log"));
  s.sources = {"src/*"};
  s.excludes = {"src/skip.log"};
  s.dest = "/f/";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_TRUE(fs::exists(root() / "f/keep.py"));
  EXPECT_FALSE(fs::exists(root() / "f/skip.log"));
  s.excludes = {"*.log"};  // a glob match is also matched by its name
  s.dest = "/g/";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_TRUE(fs::exists(root() / "g/keep.py"));
  EXPECT_FALSE(fs::exists(root() / "g/skip.log"));
}

TEST_F(CopyTest, LinkIsAccepted) {
  writeText(ctx() / "a", "a");
  auto s = spec({"a"}, "/l");
  s.link = true;
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "l"), "a");
}

TEST_F(CopyTest, HeredocSources) {
  auto s = spec({}, "/app/run.sh");
  s.inline_sources.push_back({"EOF", "echo hi\n", true, false});
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "app/run.sh"), "echo hi\n");
  s.dest = "/dir/";
  ASSERT_TRUE(copyInto(ctx(), root(), s));
  EXPECT_EQ(readText(root() / "dir/EOF"), "echo hi\n");
}

TEST_F(CopyTest, OverwritesFilesAndSymlinksInRoot) {
  writeText(ctx() / "f", "new");
  writeText(root() / "target", "keep");
  fs::create_symlink("/target", root() / "f");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"f"}, "/")));
  EXPECT_TRUE(S_ISREG(modeOf(root() / "f")));
  EXPECT_EQ(readText(root() / "f"), "new");
  EXPECT_EQ(readText(root() / "target"), "keep");
}

TEST_F(CopyTest, UrlInCopyAndGitInAddAreRefused) {
  auto r = copyInto(ctx(), root(), spec({"https://example.invalid/x"}, "/"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("URL"), std::string::npos);
  auto s = spec({"https://github.com/a/b.git"}, "/");
  s.add = true;
  r = copyInto(ctx(), root(), s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
}

}  // namespace
}  // namespace hull::build
