// Snapshots and overlay mounts on the real kernel (root only; skipped elsewhere).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/images.h"
#include "engine/import.h"
#include "engine/rootfs.h"
#include "engine/rootfs_view.h"
#include "engine/run_spec.h"
#include "layer/layer.h"
#include "test_util.h"

namespace hull::engine {
namespace {

using testing::mountinfo;

// The mountinfo lines of mount points at or below dir.
std::string mountsUnder(const fs::path& dir) {
  std::istringstream lines(mountinfo());
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point.starts_with(dir.string())) out += line + "\n";
  }
  return out;
}

bool isMountPoint(const fs::path& p) {
  return mountinfo().find(" " + p.string() + " ") != std::string::npos;
}

class Rootfs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlay mounts)";
    dir_ = testing::freshTempDir("rootfs-test");
    ASSERT_TRUE(mkdirAll(dir_));
    auto s = store::Store::open(dir_ / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
  }
  void TearDown() override {
    if (dir_.empty()) return;
    // Other tests on this machine mount and unmount too: look only below our own directory, and
    // before cleaning up, so a leak is seen.
    std::string leaked = mountsUnder(dir_);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (e.path().filename().string().starts_with("c")) (void)cleanupRootfs(e.path());
    }
    ASSERT_TRUE(removeAll(dir_));
    EXPECT_EQ(leaked, "") << "mounts were left behind";
  }

  // Writes a tree of files: path -> contents; a path ending in "/" is a directory.
  void writeTree(const fs::path& root, const std::map<std::string, std::string>& files) {
    ASSERT_TRUE(mkdirAll(root));
    for (const auto& [path, contents] : files) {
      if (path.ends_with("/")) {
        ASSERT_TRUE(mkdirAll(root / path));
      } else {
        ASSERT_TRUE(mkdirAll((root / path).parent_path()));
        ASSERT_TRUE(writeFileAtomic(root / path, contents));
      }
    }
  }

  // An image made of the given layers (each a tree, tar'ed as is: a file named ".wh.x" is a
  // whiteout), tagged `name`.
  ImageView makeImage(const std::string& name,
                      const std::vector<std::map<std::string, std::string>>& layers) {
    oci::Manifest manifest;
    oci::ImageConfig config;
    config.architecture = "amd64";
    config.os = "linux";
    for (std::size_t i = 0; i < layers.size(); ++i) {
      fs::path tree = dir_ / fmt::format("{}-layer{}", name, i);
      writeTree(tree, layers[i]);
      std::string tar;
      auto out = layer::funcWriter([&](const void* p, std::size_t n) -> Result<void> {
        tar.append(static_cast<const char*>(p), n);
        return {};
      });
      EXPECT_TRUE(layer::writeTree(tree, *out));
      auto d = store_->putBlob("application/vnd.oci.image.layer.v1.tar", tar);
      EXPECT_TRUE(d) << d.error().message;
      manifest.layers.push_back(*d);
      config.diff_ids.push_back(d->digest);
    }
    auto cfg = store_->putBlob("application/vnd.oci.image.config.v1+json", oci::serialize(config));
    EXPECT_TRUE(cfg);
    manifest.media_type = "application/vnd.oci.image.manifest.v1+json";
    manifest.config = *cfg;
    auto m = store_->putBlob(manifest.media_type, oci::serialize(manifest));
    EXPECT_TRUE(m);
    EXPECT_TRUE(store_->tag(name, *m));
    auto view = resolveImage(*store_, name);
    EXPECT_TRUE(view) << view.error().message;
    return *view;
  }

  fs::path containerDir(const std::string& name) {
    fs::path d = dir_ / name;
    EXPECT_TRUE(mkdirAll(d));
    return d;
  }

  std::size_t snapshotCount() {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(store_->root() / "snapshots")) {
      if (e.path().filename() != "l") ++n;
    }
    return n;
  }

  fs::path dir_;
  std::optional<store::Store> store_;
};

TEST_F(Rootfs, LayersStackWithWhiteoutsAndOpaqueDirs) {
  ImageView image = makeImage(
      "stack:1",
      {
          {{"a/keep", "k"}, {"a/gone", "g"}, {"dir/old", "o"}},
          {{"a/.wh.gone", ""}, {"dir/.wh..wh..opq", ""}, {"dir/new", "n"}, {"b/added", "b"}},
      });
  fs::path c = containerDir("c1");
  auto mount = prepareRootfs(*store_, image, c);
  ASSERT_TRUE(mount) << mount.error().message;
  fs::path root = c / "rootfs";
  EXPECT_TRUE(isMountPoint(root));
  EXPECT_TRUE(fs::exists(root / "a/keep"));
  EXPECT_FALSE(fs::exists(root / "a/gone"));
  EXPECT_FALSE(fs::exists(root / "dir/old"));
  EXPECT_TRUE(fs::exists(root / "dir/new"));
  EXPECT_TRUE(fs::exists(root / "b/added"));
  EXPECT_FALSE(fs::exists(root / "a/.wh.gone"));

  // Writes land in the container's upper dir, never in a shared snapshot.
  ASSERT_TRUE(writeFileAtomic(root / "a/written", "w"));
  EXPECT_TRUE(fs::exists(c / "upper/a/written"));
  auto snapshots = ensureSnapshots(*store_, image);
  ASSERT_TRUE(snapshots);
  ASSERT_EQ(snapshots->size(), 2u);
  EXPECT_FALSE(fs::exists((*snapshots)[0] / "a/written"));
  struct stat st {};
  ASSERT_EQ(::lstat(((*snapshots)[1] / "a/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));

  mount->release();
  ASSERT_TRUE(cleanupRootfs(c));
  EXPECT_FALSE(isMountPoint(root));
  EXPECT_FALSE(fs::exists(c / "upper"));
  EXPECT_FALSE(fs::exists(c / "rootfs"));
  EXPECT_TRUE(fs::exists((*snapshots)[0] / "a/keep")) << "cleanup must not touch snapshots";
}

TEST_F(Rootfs, SnapshotsAreSharedAndTheOwnerUnmounts) {
  ImageView image = makeImage("shared:1", {{{"etc/passwd", "root:x:0:0::/root:/bin/sh\n"}}});
  fs::path a = containerDir("c-a"), b = containerDir("c-b");
  {
    auto first = prepareRootfs(*store_, image, a);
    ASSERT_TRUE(first) << first.error().message;
    std::size_t count = snapshotCount();
    auto second = prepareRootfs(*store_, image, b);
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(snapshotCount(), count);
    EXPECT_TRUE(isMountPoint(a / "rootfs"));
    auto view = DirRootfsView::open(b / "rootfs");
    ASSERT_TRUE(view);
    auto passwd = view->readFile("/etc/passwd");
    ASSERT_TRUE(passwd && *passwd);
    EXPECT_EQ(**passwd, "root:x:0:0::/root:/bin/sh\n");
  }
  EXPECT_FALSE(isMountPoint(a / "rootfs"));  // RootfsMount's destructor unmounted
  EXPECT_FALSE(isMountPoint(b / "rootfs"));
  ASSERT_TRUE(cleanupRootfs(a));
  ASSERT_TRUE(cleanupRootfs(b));
  ASSERT_TRUE(cleanupRootfs(b)) << "cleanup twice is fine";
}

TEST_F(Rootfs, ConcurrentPreparesOfOneImage) {
  ImageView image = makeImage("race:1", {{{"x", "1"}}, {{"y", "2"}}, {{"z", "3"}}});
  std::vector<std::optional<RootfsMount>> mounts(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 4; ++i) {
    fs::path c = containerDir(fmt::format("c{}", i));
    threads.emplace_back([&, i, c] {
      auto m = prepareRootfs(*store_, image, c);
      if (m) {
        mounts[i].emplace(std::move(*m));
      } else {
        errors[i] = m.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(mounts[i]) << errors[i];
    if (mounts[i]) {
      EXPECT_TRUE(fs::exists(mounts[i]->path() / "z"));
    }
  }
  EXPECT_EQ(snapshotCount(), 3u);
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(store_->tmpDir(), ec)) << "losers discard their copies";
}

TEST_F(Rootfs, ManyLayersFitOneMount) {
  // Absolute lower paths would need ~12 KiB of mount options; short relative links fit a page.
  std::vector<std::map<std::string, std::string>> layers;
  for (int i = 0; i < 130; ++i) layers.push_back({{fmt::format("layer/{}", i), "x"}});
  ImageView image = makeImage("tall:1", layers);
  fs::path c = containerDir("c-tall");
  auto mount = prepareRootfs(*store_, image, c);
  ASSERT_TRUE(mount) << mount.error().message;
  EXPECT_TRUE(fs::exists(c / "rootfs/layer/0"));
  EXPECT_TRUE(fs::exists(c / "rootfs/layer/129"));
}

TEST_F(Rootfs, ImageWithoutLayers) {
  ImageView image = makeImage("empty:1", {});
  fs::path c = containerDir("c-empty");
  auto mount = prepareRootfs(*store_, image, c);
  ASSERT_TRUE(mount) << mount.error().message;
  EXPECT_TRUE(fs::is_empty(c / "rootfs"));
  ASSERT_TRUE(writeFileAtomic(c / "rootfs/new", "n"));
}

TEST_F(Rootfs, BusyboxImage) {
  fs::path tar = dir_ / "busybox.tar";
  std::string script = std::string(HULL_SOURCE_DIR) + "/tests/fixtures/make-busybox-rootfs.sh";
  if (std::system(fmt::format("{} {} >/dev/null 2>&1", script, tar.string()).c_str()) != 0) {
    GTEST_SKIP() << "busybox-static is not installed";
  }
  auto fd = openFile(tar, O_RDONLY);
  ASSERT_TRUE(fd);
  auto in = layer::fdReader(fd->get());
  ImportOptions options;
  options.name = "busybox:test";
  ASSERT_TRUE(importImage(*store_, *in, options));
  auto image = resolveImage(*store_, "busybox:test");
  ASSERT_TRUE(image) << image.error().message;
  fs::path c = containerDir("c-busybox");
  auto mount = prepareRootfs(*store_, *image, c);
  ASSERT_TRUE(mount) << mount.error().message;
  EXPECT_TRUE(fs::exists(c / "rootfs/bin/busybox"));
  EXPECT_TRUE(fs::exists(c / "rootfs/bin/sh"));
}

TEST_F(Rootfs, MountTargetsStayInside) {
  ImageView image = makeImage("targets:1", {{{"etc/hostname", "x"}}});
  fs::path c = containerDir("c-targets");
  auto mount = prepareRootfs(*store_, image, c);
  ASSERT_TRUE(mount) << mount.error().message;
  fs::path root = c / "rootfs";
  fs::path outside = dir_ / "outside";
  ASSERT_TRUE(mkdirAll(outside));
  fs::create_symlink(outside, root / "escape");

  ContainerPlan plan;
  plan.spec.process = oci::Process{};
  plan.spec.process->cwd = "/escape/../work/dir";
  ASSERT_TRUE(writeFileAtomic(dir_ / "host-file", "f"));
  plan.spec.mounts = {
      oci::Mount{.destination = "/escape/data", .type = "bind", .source = "/", .options = {}},
      oci::Mount{.destination = "/etc/app/conf.yaml",
                 .type = "bind",
                 .source = (dir_ / "host-file").string(),
                 .options = {}},
      oci::Mount{.destination = "/run/tmp", .type = "tmpfs", .source = "tmpfs", .options = {}},
  };
  ASSERT_TRUE(prepareMountTargets(root, plan));
  EXPECT_TRUE(fs::is_directory(root / "work/dir"));
  // The absolute symlink resolves as if the rootfs were "/": the target is made inside it.
  EXPECT_FALSE(fs::exists(outside / "data")) << "a symlink led out of the rootfs";
  EXPECT_TRUE(fs::is_directory(root / outside.relative_path() / "data"));
  EXPECT_TRUE(fs::is_regular_file(root / "etc/app/conf.yaml"));
  EXPECT_TRUE(fs::is_directory(root / "run/tmp"));
}

TEST_F(Rootfs, CopyUpFillsOnlyANewVolume) {
  ImageView image =
      makeImage("copyup:1", {{{"var/lib/app/seed", "s"}, {"var/lib/app/sub/x", "x"}}});
  fs::path c = containerDir("c-copyup");
  auto mount = prepareRootfs(*store_, image, c);
  ASSERT_TRUE(mount) << mount.error().message;
  fs::path fresh = dir_ / "vol-fresh", used = dir_ / "vol-used";
  ASSERT_TRUE(mkdirAll(fresh));
  ASSERT_TRUE(mkdirAll(used));
  ASSERT_TRUE(writeFileAtomic(used / "mine", "m"));
  ASSERT_TRUE(copyUpVolume(c / "rootfs", "/var/lib/app", fresh));
  ASSERT_TRUE(copyUpVolume(c / "rootfs", "/var/lib/app", used));
  ASSERT_TRUE(copyUpVolume(c / "rootfs", "/not/there", fresh));
  EXPECT_TRUE(fs::exists(fresh / "seed"));
  EXPECT_TRUE(fs::exists(fresh / "sub/x"));
  EXPECT_FALSE(fs::exists(used / "seed"));
}

}  // namespace
}  // namespace hull::engine

namespace hull::engine {
namespace {

// A hostile image's symlinks resolve inside its rootfs: planning never reads a host file.
TEST(DirRootfsViewTest, SymlinksStayInsideTheRootfs) {
  fs::path root = testing::freshTempDir("rootfs-view");
  ASSERT_TRUE(mkdirAll(root / "etc"));
  ASSERT_TRUE(mkdirAll(root / "real"));
  ASSERT_TRUE(writeFileAtomic(root / "real/group", "g:x:5:\n"));
  fs::create_symlink("/etc/hostname", root / "etc/passwd");  // absolute: means root/etc/hostname
  fs::create_symlink("../../../../../real/group", root / "etc/group");
  fs::create_symlink("/proc/self/root/etc/hostname", root / "etc/shadow");
  auto view = DirRootfsView::open(root);
  ASSERT_TRUE(view) << view.error().message;
  auto passwd = view->readFile("/etc/passwd");
  ASSERT_TRUE(passwd);
  EXPECT_FALSE(passwd->has_value()) << "read the host's /etc/hostname";
  auto group = view->readFile("/etc/group");
  ASSERT_TRUE(group && group->has_value());
  EXPECT_EQ(**group, "g:x:5:\n");
  auto shadow = view->readFile("/etc/shadow");
  EXPECT_TRUE(!shadow || !shadow->has_value());
  auto dir = view->readFile("/etc");
  ASSERT_TRUE(dir);
  EXPECT_FALSE(dir->has_value()) << "a directory is not a file";
  ASSERT_TRUE(removeAll(root));
}

}  // namespace
}  // namespace hull::engine
