// `hull builder prune`: the cache's records and mounts go, then the blobs only they kept.
#include <gtest/gtest.h>

#include "base/fs.h"
#include "build/cache.h"
#include "engine/build.h"
#include "oci/media_types.h"
#include "test_util.h"

namespace hull::engine {
namespace {

class BuildPruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::freshTempDir("hull-build-prune");
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    auto blob = store_->putBlob(oci::kMediaTypeLayerGzip, std::string(1000, 'l'));
    ASSERT_TRUE(blob);
    layer_ = build::Layer{*blob, Digest::ofBytes("tar")};
    build::Cache cache(*store_);
    record_.key = build::KeyBuilder("run").add("cmd", "pip install").finish();
    record_.layer = layer_;
    ASSERT_TRUE(cache.put(record_));
    mount_ = cache.mountDir("pip");
    ASSERT_TRUE(mkdirAll(mount_));
    ASSERT_TRUE(writeFileAtomic(mount_ / "wheel", std::string(500, 'w')));
  }
  void TearDown() override { (void)removeAll(dir_); }

  fs::path dir_, mount_;
  std::optional<store::Store> store_;
  build::Layer layer_;
  build::CacheRecord record_;
};

TEST_F(BuildPruneTest, DryRunCountsAndKeeps) {
  auto report = pruneBuildCache(*store_, true);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records, 1);
  EXPECT_GE(report->bytes, 1500);
  EXPECT_TRUE(store_->hasBlob(layer_.blob.digest));
  EXPECT_TRUE(fs::exists(mount_ / "wheel"));
  EXPECT_TRUE(build::Cache(*store_).lookup(record_.key));
}

TEST_F(BuildPruneTest, RemovesRecordsMountsAndTheirBlobs) {
  auto report = pruneBuildCache(*store_, false);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records, 1);
  EXPECT_GE(report->bytes, 1500);
  EXPECT_FALSE(store_->hasBlob(layer_.blob.digest));
  EXPECT_FALSE(fs::exists(mount_));
  EXPECT_FALSE(build::Cache(*store_).lookup(record_.key));
  auto again = pruneBuildCache(*store_, false);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->records, 0);
}

}  // namespace
}  // namespace hull::engine
