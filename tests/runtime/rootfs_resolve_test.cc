// Mount destinations are resolved inside the rootfs: a symlink in the image that points at the
// host ("/etc/evil -> /../../../outside") must land inside the rootfs.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/rootfs.h"

namespace hull::runtime {
namespace {

namespace fs = std::filesystem;

class RootfsResolve : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("hull-rootfs-test-" + std::to_string(getpid()));
    fs::create_directories(base_ / "rootfs/etc");
    fs::create_directories(base_ / "outside");
    fs::create_symlink("/../../outside/target", base_ / "rootfs/etc/evil");
    fs::create_symlink("../../../outside", base_ / "rootfs/etc/up");
    root_.reset(::open((base_ / "rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  void TearDown() override { fs::remove_all(base_); }

  fs::path base_;
  UniqueFd root_;
};

TEST_F(RootfsResolve, SymlinkOutOfTheRootStaysInside) {
  auto dir = makeDirsInRoot(root_.get(), "/etc/evil");
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_TRUE(fs::is_directory(base_ / "rootfs/outside/target"));
  EXPECT_FALSE(fs::exists(base_ / "outside/target"));

  auto up = makeDirsInRoot(root_.get(), "/etc/up/x");
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_TRUE(fs::is_directory(base_ / "rootfs/outside/x"));
  EXPECT_FALSE(fs::exists(base_ / "outside/x"));
}

TEST_F(RootfsResolve, DotDotIsClampedAtTheRoot) {
  auto dir = makeDirsInRoot(root_.get(), "/../../a/b");
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_TRUE(fs::is_directory(base_ / "rootfs/a/b"));
  auto missing = openInRoot(root_.get(), "/nope", O_PATH);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace hull::runtime
