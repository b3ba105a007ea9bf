// Chain IDs, overlay lower dirs from mountinfo, rmi's container conflicts, and snapshot collection.
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/scope_exit.h"
#include "engine/image_users.h"
#include "engine/snapshot_gc.h"
#include "oci/media_types.h"
#include "test_util.h"

namespace hull::engine {
namespace {

Digest digest(std::string_view text) { return *Digest::parse(text); }

// Expected values computed independently (Python's hashlib) from the OCI definition.
TEST(ChainIds, FollowTheOciDefinition) {
  std::vector<Digest> diff_ids = {Digest::ofBytes("layer one"), Digest::ofBytes("layer two"),
                                  Digest::ofBytes("layer three")};
  std::vector<Digest> chain = chainIds(diff_ids);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], diff_ids[0]) << "the bottom layer's chain ID is its diff ID";
  EXPECT_EQ(chain[0].str(),
            "sha256:f191e625176e7514249870c60bc24622131b04927a418001d1969c9cecd260f1");
  EXPECT_EQ(chain[1].str(),
            "sha256:d440fc2ac5bfa225471b58c5d6b4283504f5dfbcd6251023a635cdcd0c058e3e");
  EXPECT_EQ(chain[2].str(),
            "sha256:952689aceeac7e377b602804de533a4ad47ba634e3917ca7cb071e5ff2bff6cd");
}

TEST(ChainIds, EmptyStackHasNone) { EXPECT_TRUE(chainIds({}).empty()); }

TEST(ChainIds, DependOnEverythingBelow) {
  Digest a = Digest::ofBytes("a"), b = Digest::ofBytes("b");
  EXPECT_NE(chainIds({a, b})[1], chainIds({b, b})[1]);
  EXPECT_NE(chainIds({a, b})[1], b);
}

TEST(OverlayLowerDirs, ReadsOverlaysOnly) {
  std::string mountinfo =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "90 22 0:50 / /var/lib/hull/containers/abc/rootfs rw,relatime - overlay overlay "
      "rw,lowerdir=l/AAAA:l/BBBB,upperdir=/var/lib/hull/containers/abc/upper,workdir=/x/work\n"
      "91 22 0:51 / /mnt/with\\040space rw shared:7 master:3 - overlay overlay "
      "rw,lowerdir=/srv/snap\\040shots/one/diff,upperdir=/u,workdir=/w\n"
      "92 22 0:52 / /tmp rw - tmpfs tmpfs rw,lowerdir=not/an/overlay\n"
      "93 22 0:53 / /m rw - overlay overlay rw,lowerdir+=/a/diff,lowerdir+=/b/diff,upperdir=/u\n";
  std::vector<std::string> want = {"l/AAAA", "l/BBBB", "/srv/snap shots/one/diff", "/a/diff",
                                   "/b/diff"};
  EXPECT_EQ(overlayLowerDirs(mountinfo), want);
  EXPECT_TRUE(overlayLowerDirs("").empty());
  EXPECT_TRUE(overlayLowerDirs("garbage without fields\n").empty());
}

constexpr std::string_view kImage =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kRunning(64, 'a');
const std::string kStopped(64, 'b');

std::vector<ImageUser> users(bool running) {
  return {{.container_id = running ? kRunning : kStopped,
           .image_id = std::string(kImage),
           .running = running}};
}

ImageRemoval removal(bool by_name, bool last_name, bool force) {
  return {.ref = "busybox",
          .image_id = digest(kImage),
          .by_name = by_name,
          .last_name = last_name,
          .force = force};
}

TEST(ImageRemoval, UnusedImagesGo) {
  EXPECT_TRUE(checkImageRemoval({}, removal(true, true, false)));
  std::vector<ImageUser> other = {
      {.container_id = kStopped, .image_id = "sha256:" + std::string(64, 'f'), .running = true}};
  EXPECT_TRUE(checkImageRemoval(other, removal(false, false, false)));
}

TEST(ImageRemoval, ANameThatIsNotTheLastAlwaysGoes) {
  EXPECT_TRUE(checkImageRemoval(users(true), removal(true, false, false)));
}

TEST(ImageRemoval, TheLastNameNeedsForce) {
  auto r = checkImageRemoval(users(false), removal(true, true, false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kBusy);
  EXPECT_EQ(r.error().message,
            "conflict: unable to remove repository reference \"busybox\" (must force) - "
            "container bbbbbbbbbbbb is using its referenced image 0123456789ab");
  EXPECT_TRUE(checkImageRemoval(users(false), removal(true, true, true)));
}

TEST(ImageRemoval, ByIdAStoppedContainerNeedsForce) {
  auto r = checkImageRemoval(users(false), removal(false, false, false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "conflict: unable to delete 0123456789ab (must be forced) - image is being used by "
            "stopped container bbbbbbbbbbbb");
  EXPECT_TRUE(checkImageRemoval(users(false), removal(false, false, true)));
}

TEST(ImageRemoval, ARunningContainerCannotBeForced) {
  for (bool by_name : {true, false}) {
    auto r = checkImageRemoval(users(true), removal(by_name, true, true));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "conflict: unable to delete 0123456789ab (cannot be forced) - image is being used "
              "by running container aaaaaaaaaaaa");
  }
}

// A store whose snapshots/ is filled by hand; no mounts, so no root needed.
class SnapshotPruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::freshTempDir("snapshot-gc");
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    ASSERT_TRUE(mkdirAll(dir_ / "snapshots/l", 0700));
  }
  void TearDown() override { (void)removeAll(dir_); }

  // Tags `name` as an image whose layers have these diff IDs (the layer blobs are stand-ins: the
  // collection reads only the config).
  void addImage(const std::string& name, const std::vector<Digest>& diff_ids) {
    oci::Manifest m;
    m.media_type = std::string(oci::kMediaTypeImageManifest);
    for (std::size_t i = 0; i < diff_ids.size(); ++i) {
      auto layer = store_->putBlob(oci::kMediaTypeLayer, name + " layer " + std::to_string(i));
      ASSERT_TRUE(layer);
      m.layers.push_back(*layer);
    }
    oci::ImageConfig c;
    c.architecture = "amd64";
    c.os = "linux";
    c.diff_ids = diff_ids;
    auto config = store_->putBlob(oci::kMediaTypeImageConfig, oci::serialize(c));
    ASSERT_TRUE(config);
    m.config = *config;
    auto manifest = store_->putBlob(oci::kMediaTypeImageManifest, oci::serialize(m));
    ASSERT_TRUE(manifest);
    ASSERT_TRUE(store_->tag(name, *manifest));
  }

  // A snapshot as rootfs.cc lays it out: <name>/diff, <name>/link, l/<short> -> ../<name>/diff.
  void makeSnapshot(const std::string& name) {
    std::string short_id = name.substr(0, 24);
    fs::path dir = dir_ / "snapshots" / name;
    ASSERT_TRUE(mkdirAll(dir / "diff/etc"));
    ASSERT_TRUE(writeFileAtomic(dir / "diff/etc/data", std::string(1000, 'x')));
    ASSERT_TRUE(writeFileAtomic(dir / "link", short_id + "\n"));
    std::string target = "../" + name + "/diff";
    ASSERT_EQ(::symlink(target.c_str(), (dir_ / "snapshots/l" / short_id).c_str()), 0);
  }

  bool has(const std::string& name) { return fs::exists(dir_ / "snapshots" / name / "diff"); }
  bool linked(const std::string& name) {
    return fs::is_symlink(dir_ / "snapshots/l" / name.substr(0, 24));
  }

  fs::path dir_;
  std::optional<store::Store> store_;
};

TEST_F(SnapshotPruneTest, KeepsTheChainsOfImagesInTheStoreOnly) {
  Digest a = Digest::ofBytes("a"), b = Digest::ofBytes("b"), c = Digest::ofBytes("c");
  addImage("keep:1", {a, b});
  addImage("gone:1", {a, c});  // shares its bottom layer with keep:1
  std::vector<Digest> keep = chainIds({a, b}), gone = chainIds({a, c});
  for (const auto& d : keep) makeSnapshot(d.hex());
  makeSnapshot(gone[1].hex());
  makeSnapshot("empty");  // no image without layers is left
  ASSERT_TRUE(mkdirAll(dir_ / "snapshots/not-a-snapshot"));
  std::string dangling = std::string(24, 'd');
  ASSERT_EQ(::symlink("../nothing/diff", (dir_ / "snapshots/l" / dangling).c_str()), 0);
  ASSERT_TRUE(store_->untag("gone:1"));

  auto dry = pruneSnapshots(*store_, true);
  ASSERT_TRUE(dry) << dry.error().message;
  std::vector<std::string> want = {gone[1].hex(), "empty"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(dry->removed, want);
  EXPECT_EQ(dry->total, 4);
  EXPECT_EQ(dry->kept, 2);
  EXPECT_GE(dry->bytes_freed, 2000);  // the data files, and the small link files beside them
  EXPECT_LT(dry->bytes_freed, 2100);
  EXPECT_FALSE(dry->unsure);
  EXPECT_TRUE(has(gone[1].hex()) && has("empty")) << "a dry run removes nothing";

  auto done = pruneSnapshots(*store_, false);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->removed, want);
  EXPECT_EQ(done->links_removed, 1);
  EXPECT_FALSE(has(gone[1].hex()) || linked(gone[1].hex()));
  EXPECT_FALSE(has("empty") || linked("empty"));
  EXPECT_FALSE(fs::is_symlink(dir_ / "snapshots/l" / dangling));
  for (const auto& d : keep) EXPECT_TRUE(has(d.hex()) && linked(d.hex())) << d.str();
  EXPECT_TRUE(fs::exists(dir_ / "snapshots/not-a-snapshot")) << "unknown names are left alone";
  EXPECT_TRUE(fs::is_empty(store_->tmpDir())) << "removed snapshots pass through tmp/";
}

TEST_F(SnapshotPruneTest, AnUnreadableImageKeepsEverything) {
  Digest a = Digest::ofBytes("a");
  addImage("keep:1", {a});
  makeSnapshot(Digest::ofBytes("orphan").hex());
  auto config = store_->manifest(store_->find("keep:1")->manifest)->config.digest;
  ASSERT_TRUE(removeAll(store_->blobPath(config)));
  auto done = pruneSnapshots(*store_, false);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(done->unsure);
  EXPECT_TRUE(done->removed.empty());
  EXPECT_TRUE(has(Digest::ofBytes("orphan").hex()));
}

// A snapshot that an overlay mount uses stays even when no image needs it (the image of a running
// container can have become dangling and been pruned).
TEST_F(SnapshotPruneTest, MountedLowerDirsStay) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting an overlay needs root";
  std::string by_link = Digest::ofBytes("lower via link").hex();
  std::string by_path = Digest::ofBytes("lower via path").hex();
  makeSnapshot(by_link);
  makeSnapshot(by_path);
  fs::path mnt = dir_ / "mnt";
  for (const char* d : {"mnt", "upper", "work"}) ASSERT_TRUE(mkdirAll(dir_ / d));
  std::string data = fmt::format("lowerdir={}:{},upperdir={},workdir={}",
                                 (dir_ / "snapshots/l" / by_link.substr(0, 24)).string(),
                                 (dir_ / "snapshots" / by_path / "diff").string(),
                                 (dir_ / "upper").string(), (dir_ / "work").string());
  if (::mount("overlay", mnt.c_str(), "overlay", 0, data.c_str()) != 0) {
    GTEST_SKIP() << "overlay mount failed: " << std::strerror(errno);
  }
  ScopeExit unmount([&] { ::umount2(mnt.c_str(), MNT_DETACH); });
  auto kept = pruneSnapshots(*store_, false);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_TRUE(kept->removed.empty());
  EXPECT_TRUE(has(by_link) && has(by_path) && linked(by_link));
  EXPECT_TRUE(fs::exists(mnt / "etc/data"));

  unmount.dismiss();
  ASSERT_EQ(::umount2(mnt.c_str(), 0), 0);
  auto removed = pruneSnapshots(*store_, false);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(removed->removed.size(), 2u);
  EXPECT_FALSE(has(by_link) || has(by_path));
}

}  // namespace
}  // namespace hull::engine
