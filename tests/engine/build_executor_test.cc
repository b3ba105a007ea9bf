// The build executor's mount and commit over a real store (overlay mounts: root only): a commit
// is the layer of what changed, its upper dir becomes the layer's snapshot, an unchanged root
// commits nothing, and nothing stays in tmp/ or mounted.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "engine/build.h"
#include "engine/snapshot_gc.h"
#include "layer/layer.h"
#include "store/store.h"
#include "test_util.h"

namespace hull::engine {
namespace {

using testing::mountinfo;

class BuildExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "overlay mounts need root";
    dir_ = testing::freshTempDir("hull-build-exec-test");
    auto store = store::Store::open(dir_ / "root");
    ASSERT_TRUE(store) << store.error().message;
    store_.emplace(std::move(*store));
    executor_ = makeBuildExecutor(*store_);
  }
  void TearDown() override {
    executor_.reset();
    if (!dir_.empty()) (void)removeAll(dir_);
  }

  std::unique_ptr<build::Mounted> mount(const std::vector<build::Layer>& layers) {
    auto m = executor_->mount(layers);
    EXPECT_TRUE(m) << m.error().message;
    return m ? std::move(*m) : nullptr;
  }

  std::optional<build::Layer> commit(std::unique_ptr<build::Mounted> root) {
    auto layer = executor_->commit(std::move(root), build::CommitOptions{});
    EXPECT_TRUE(layer) << layer.error().message;
    return layer ? *layer : std::nullopt;
  }

  bool tmpEmpty() {
    std::error_code ec;
    return fs::is_empty(store_->tmpDir(), ec) || !fs::exists(store_->tmpDir());
  }

  fs::path dir_;
  std::optional<store::Store> store_;
  std::unique_ptr<build::Executor> executor_;
};

TEST_F(BuildExecutorTest, CommitMakesALayerAndItsSnapshot) {
  auto root = mount({});
  ASSERT_TRUE(root);
  fs::path merged = root->root();
  EXPECT_NE(mountinfo().find(merged.string()), std::string::npos);
  ASSERT_TRUE(mkdirAll(merged / "app"));
  ASSERT_TRUE(writeFileAtomic(merged / "app/a", "alpha"));
  auto first = commit(std::move(root));
  ASSERT_TRUE(first);
  EXPECT_TRUE(store_->hasBlob(first->blob.digest));
  EXPECT_EQ(first->blob.media_type, layer::layerMediaType(layer::Compression::kGzip));
  auto snapshot = dir_ / "root/snapshots" / first->diff_id.hex() / "diff/app/a";
  EXPECT_TRUE(fs::exists(snapshot)) << "the upper dir is the layer's snapshot";
  EXPECT_EQ(mountinfo().find(merged.string()), std::string::npos);
  EXPECT_TRUE(tmpEmpty());

  // A second step sees the first and removes its file: a whiteout.
  auto next = mount({*first});
  ASSERT_TRUE(next);
  EXPECT_TRUE(fs::exists(next->root() / "app/a"));
  ASSERT_EQ(::unlink((next->root() / "app/a").c_str()), 0);
  auto second = commit(std::move(next));
  ASSERT_TRUE(second);
  auto chain = chainIds({first->diff_id, second->diff_id}).back();
  EXPECT_TRUE(fs::exists(dir_ / "root/snapshots" / chain.hex() / "link"));

  auto third = mount({*first, *second});
  ASSERT_TRUE(third);
  EXPECT_FALSE(fs::exists(third->root() / "app/a"));
  EXPECT_TRUE(fs::exists(third->root() / "app"));
}

TEST_F(BuildExecutorTest, NothingChangedNothingCommitted) {
  auto root = mount({});
  ASSERT_TRUE(root);
  EXPECT_FALSE(commit(std::move(root)));
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildExecutorTest, DroppedMountLeavesNothing) {
  auto root = mount({});
  ASSERT_TRUE(root);
  fs::path merged = root->root();
  ASSERT_TRUE(writeFileAtomic(merged / "f", "x"));
  root.reset();
  EXPECT_EQ(mountinfo().find(merged.string()), std::string::npos);
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildExecutorTest, SameContentSameLayer) {
  build::CommitOptions options;
  options.source_date_epoch = 0;
  std::vector<Digest> digests;
  for (int i = 0; i < 2; ++i) {
    auto root = mount({});
    ASSERT_TRUE(root);
    ASSERT_TRUE(writeFileAtomic(root->root() / "f", "same"));
    auto layer = executor_->commit(std::move(root), options);
    ASSERT_TRUE(layer && *layer);
    digests.push_back((*layer)->blob.digest);
  }
  EXPECT_EQ(digests[0], digests[1]);
  EXPECT_TRUE(tmpEmpty()) << "the second commit's upper dir is discarded";
}

}  // namespace
}  // namespace hull::engine
