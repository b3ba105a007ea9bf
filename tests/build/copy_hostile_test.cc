// COPY/ADD against hostile input: sources that climb out of the context (lexically or through a
// symlink), destinations through symlinks in the root, archives with "../" names, absolute
// symlinks and overlong names. Nothing may be read from or written outside the trees.
#include <gtest/gtest.h>

#include "copy_test_util.h"

namespace hull::build {
namespace {

using testing::addSpec;
using testing::copyInto;
using testing::readText;
using testing::spec;
using testing::TarEntry;
using testing::TempDir;
using testing::writeTar;
using testing::writeText;

class CopyHostileTest : public ::testing::Test {
 protected:
  fs::path ctx() const { return context_.path(); }
  fs::path root() const { return root_.path(); }
  TempDir context_, root_, elsewhere_;
};

TEST_F(CopyHostileTest, DotDotSourceIsRefused) {
  auto r = copyInto(ctx(), root(), spec({"../x"}, "/"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("outside the build context"), std::string::npos);
  r = copyInto(ctx(), root(), spec({"a/../../x"}, "/"));
  ASSERT_FALSE(r);
}

TEST_F(CopyHostileTest, SymlinkOutOfTheContextIsRefused) {
  fs::create_symlink("/etc/passwd", ctx() / "pw");
  auto r = copyInto(ctx(), root(), spec({"pw"}, "/pw"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("outside the build context"), std::string::npos);
  fs::create_symlink("../../../../../../etc", ctx() / "up");
  r = copyInto(ctx(), root(), spec({"up/passwd"}, "/pw"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("outside the build context"), std::string::npos);
  EXPECT_FALSE(fs::exists(root() / "pw"));
}

TEST_F(CopyHostileTest, SymlinkInsideTheContextIsFine) {
  writeText(ctx() / "dir/f", "f");
  fs::create_symlink("dir", ctx() / "alias");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"alias/f"}, "/f")));
  EXPECT_EQ(readText(root() / "f"), "f");
}

TEST_F(CopyHostileTest, StageTreeResolvesSymlinksInsideItsRoot) {
  writeText(ctx() / "etc/passwd", "stage passwd");
  fs::create_symlink("/etc/passwd", ctx() / "pw");
  SourceTree tree;
  tree.root = ctx();
  tree.what = "stage builder";
  CopyEnv env;
  env.tmp_dir = "/tmp";
  auto op = CopyOp::prepare(tree, spec({"pw"}, "/pw"), env);
  ASSERT_TRUE(op) << op.error().message;
  ASSERT_TRUE(op->apply(root()));
  EXPECT_EQ(readText(root() / "pw"), "stage passwd");
}

TEST_F(CopyHostileTest, DestThroughSymlinkStaysInRoot) {
  writeText(ctx() / "f", "payload");
  fs::create_symlink(elsewhere_.path(), root() / "evil");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"f"}, "/evil/f")));
  EXPECT_FALSE(fs::exists(elsewhere_.path() / "f"));
  // The absolute link resolves as if root were "/": the file lands at root + that path.
  EXPECT_EQ(readText(root() / elsewhere_.path().relative_path() / "f"), "payload");
  fs::create_symlink("../../../../../../../..", root() / "up");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"f"}, "/up/g")));
  EXPECT_EQ(readText(root() / "g"), "payload");
}

TEST_F(CopyHostileTest, DestFileThatIsASymlinkIsReplaced) {
  writeText(ctx() / "f", "payload");
  writeText(elsewhere_.path() / "victim", "safe");
  fs::create_symlink(elsewhere_.path() / "victim", root() / "f");
  ASSERT_TRUE(copyInto(ctx(), root(), spec({"f"}, "/f")));
  EXPECT_EQ(readText(elsewhere_.path() / "victim"), "safe");
  EXPECT_EQ(readText(root() / "f"), "payload");
}

TEST_F(CopyHostileTest, ArchiveWithDotDotIsRefused) {
  writeTar(ctx() / "evil.tar", {{"../escape", "x"}});
  auto r = copyInto(ctx(), root(), addSpec({"evil.tar"}, "/x/"));
  EXPECT_FALSE(r);
  EXPECT_FALSE(fs::exists(root() / "escape"));
  EXPECT_FALSE(fs::exists(root().parent_path() / "escape"));
}

TEST_F(CopyHostileTest, ArchiveWritingThroughAbsoluteSymlinkStaysInside) {
  writeTar(ctx() / "evil.tar.gz",
           {{"link", "", AE_IFLNK, elsewhere_.path().string()}, {"link/owned", "x"}}, "gzip");
  (void)copyInto(ctx(), root(), addSpec({"evil.tar.gz"}, "/x/"));
  EXPECT_FALSE(fs::exists(elsewhere_.path() / "owned"));
}

TEST_F(CopyHostileTest, ArchiveWithHugeNameIsRefused) {
  writeTar(ctx() / "long.tar", {{std::string(5000, 'a'), "x"}});
  EXPECT_FALSE(copyInto(ctx(), root(), addSpec({"long.tar"}, "/x/")));
}

TEST_F(CopyHostileTest, ArchiveHardLinkOutsideIsRefused) {
  writeTar(ctx() / "hl.tar", {{"pw", "", AE_IFREG, "/etc/passwd", true}});
  (void)copyInto(ctx(), root(), addSpec({"hl.tar"}, "/x/"));
  struct stat a, b;
  if (::stat((root() / "x/pw").c_str(), &a) == 0 && ::stat("/etc/passwd", &b) == 0) {
    EXPECT_FALSE(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  }
}

}  // namespace
}  // namespace hull::build
