#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace hull::store {
namespace {

using testing::flipByte;
using testing::listDir;
using testing::putImage;
using testing::TestImage;
using testing::writeText;

class GcTest : public testing::StoreFixture {
 protected:
  TestImage tagged(const std::string& name, const std::vector<std::string>& layers) {
    TestImage img = putImage(store(), layers, name);
    auto r = store().tag(name, img.manifest);
    EXPECT_TRUE(r) << r.error().message;
    return img;
  }
  std::vector<FsckProblem> fsck() {
    auto p = store().fsck();
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : std::vector<FsckProblem>{};
  }
  // An index (multi-platform image) over the given manifests, tagged as name.
  oci::Descriptor taggedIndex(const std::string& name, const std::vector<oci::Descriptor>& ms) {
    oci::Index index;
    index.media_type = std::string(oci::kMediaTypeImageIndex);
    index.manifests = ms;
    auto d = store().putBlob(oci::kMediaTypeImageIndex, oci::serialize(index));
    EXPECT_TRUE(d);
    auto r = store().tag(name, *d);
    EXPECT_TRUE(r) << r.error().message;
    return *d;
  }
};

TEST_F(GcTest, CleanStorePassesFsck) {
  tagged("a", {"1", "2"});
  tagged("b", {"2", "3"});
  EXPECT_TRUE(fsck().empty());
}

TEST_F(GcTest, FsckNamesCorruptLayerAndTheImagesItBreaks) {
  TestImage a = tagged("busybox", {"base layer", "top of a"});
  tagged("other", {"base layer"});
  tagged("fine", {"unrelated"});
  flipByte(store().blobPath(a.layers[0].digest), 4);
  auto problems = fsck();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].blob, a.layers[0].digest);
  EXPECT_TRUE(problems[0].what.starts_with("corrupt")) << problems[0].what;
  EXPECT_EQ(problems[0].images, (std::vector<std::string>{"busybox:latest", "other:latest"}));
}

TEST_F(GcTest, FsckReportsMissingConfig) {
  TestImage a = tagged("busybox", {"layer"});
  ASSERT_TRUE(fs::remove(store().blobPath(a.config.digest)));
  auto problems = fsck();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].blob, a.config.digest);
  EXPECT_EQ(problems[0].what, "missing");
  EXPECT_EQ(problems[0].images, std::vector<std::string>{"busybox:latest"});
}

TEST_F(GcTest, FsckReportsCorruptManifestAndUnreferencedBlobs) {
  TestImage a = tagged("busybox", {"layer"});
  auto loose = store().putBlob("application/octet-stream", "nobody uses this");
  ASSERT_TRUE(loose);
  flipByte(store().blobPath(loose->digest));
  flipByte(store().blobPath(a.manifest.digest), 2);
  writeText(store().root() / "blobs" / "sha256" / "README", "stray");
  auto problems = fsck();
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_TRUE(problems[0].blob.empty()) << "stray files come first";
  EXPECT_NE(problems[0].what.find("README"), std::string::npos);
  for (std::size_t i = 1; i < 3; ++i) {
    const FsckProblem& p = problems[i];
    EXPECT_TRUE(p.what.starts_with("corrupt")) << p.what;
    if (p.blob == a.manifest.digest) {
      EXPECT_EQ(p.images, std::vector<std::string>{"busybox:latest"});
    } else {
      EXPECT_EQ(p.blob, loose->digest);
      EXPECT_TRUE(p.images.empty());
    }
  }
}

TEST_F(GcTest, FsckWalksNestedIndexes) {
  TestImage amd = putImage(store(), {"amd64 layer"}, "amd");
  TestImage arm = putImage(store(), {"arm64 layer"}, "arm");
  oci::Descriptor idx = taggedIndex("multi", {amd.manifest, arm.manifest});
  EXPECT_TRUE(fsck().empty());
  ASSERT_TRUE(fs::remove(store().blobPath(arm.layers[0].digest)));
  auto problems = fsck();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].blob, arm.layers[0].digest);
  EXPECT_EQ(problems[0].what, "missing");
  EXPECT_EQ(problems[0].images, std::vector<std::string>{"multi:latest"});
  auto id = store().imageId(idx);
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, idx.digest);
}

TEST_F(GcTest, PruneRemovesOnlyUnreachableBlobs) {
  TestImage a = tagged("a", {"shared", "only a"});
  TestImage b = tagged("b", {"shared", "only b"});
  TestImage c = putImage(store(), {"platform layer"}, "c");
  taggedIndex("multi", {c.manifest});
  auto loose = store().putBlob("application/octet-stream", "loose");
  ASSERT_TRUE(loose);

  auto first = store().prune();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->removed, std::vector<Digest>{loose->digest});
  EXPECT_EQ(first->bytes_freed, 5);

  ASSERT_TRUE(store().untag("a"));
  auto dry = store().prune(/*dry_run=*/true);
  ASSERT_TRUE(dry);
  std::vector<Digest> want = {a.manifest.digest, a.config.digest, a.layers[1].digest};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(dry->removed, want);
  EXPECT_EQ(dry->bytes_freed, a.manifest.size + a.config.size + a.layers[1].size);
  for (const auto& d : want) EXPECT_TRUE(store().hasBlob(d)) << "a dry run removes nothing";

  auto real = store().prune();
  ASSERT_TRUE(real);
  EXPECT_EQ(real->removed, want);
  for (const auto& d : want) EXPECT_FALSE(store().hasBlob(d));
  EXPECT_TRUE(store().hasBlob(a.layers[0].digest)) << "still used by b";
  EXPECT_TRUE(store().hasBlob(c.layers[0].digest)) << "reachable through the index";
  EXPECT_TRUE(fsck().empty());
  auto again = store().prune();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->removed.empty());
}

TEST_F(GcTest, PruneCleansStagingFiles) {
  tagged("a", {"layer"});
  writeText(store().tmpDir() / "blob-crashed", "half a layer");
  fs::create_directories(store().tmpDir() / "unpack-crashed" / "usr");
  writeText(store().tmpDir() / "unpack-crashed" / "usr" / "f", "12345");
  auto dry = store().prune(true);
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->staging_removed, 2);
  EXPECT_EQ(dry->bytes_freed, 12 + 5);
  EXPECT_EQ(listDir(store().tmpDir()).size(), 2u);
  auto r = store().prune();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->staging_removed, 2);
  EXPECT_TRUE(r->removed.empty());
  EXPECT_TRUE(listDir(store().tmpDir()).empty());
}

TEST_F(GcTest, PruneRefusesWhenAManifestCannotBeRead) {
  TestImage a = tagged("a", {"precious layer"});
  flipByte(store().blobPath(a.manifest.digest), 1);
  auto r = store().prune();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_NE(r.error().message.find("a:latest"), std::string::npos) << r.error().message;
  EXPECT_TRUE(store().hasBlob(a.layers[0].digest));
}

TEST_F(GcTest, DiskUsageCountsNamesBlobsAndSnapshots) {
  TestImage a = tagged("a", {"shared", "aaaa"});
  ASSERT_TRUE(store().tag("a-alias", a.manifest));
  auto loose = store().putBlob("application/octet-stream", "1234567");
  ASSERT_TRUE(loose);
  fs::create_directories(store().root() / "snapshots" / "x" / "fs");
  writeText(store().root() / "snapshots" / "x" / "fs" / "f", "0123456789");
  fs::create_hard_link(store().root() / "snapshots" / "x" / "fs" / "f",
                       store().root() / "snapshots" / "x" / "fs" / "g");
  auto du = store().diskUsage();
  ASSERT_TRUE(du) << du.error().message;
  EXPECT_EQ(du->images, 2);
  EXPECT_EQ(du->blobs, 5);
  EXPECT_EQ(du->blob_bytes, 6 + 4 + a.config.size + a.manifest.size + 7);
  EXPECT_EQ(du->unreferenced_bytes, 7);
  EXPECT_EQ(du->snapshot_bytes, 10) << "a hard-linked file counts once";
}

}  // namespace
}  // namespace hull::store
