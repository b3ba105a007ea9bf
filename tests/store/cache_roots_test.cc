// Build cache records (cache/records/*.json) keep the layer blobs they name through prune.
#include <gtest/gtest.h>

#include "base/json.h"
#include "oci/media_types.h"
#include "store/store.h"
#include "test_util.h"

namespace hull::store {
namespace {

using testing::TempDir;
using testing::writeText;

class CacheRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(dir_.path() / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    auto kept = store_->putBlob(oci::kMediaTypeLayerGzip, "cached layer");
    auto loose = store_->putBlob(oci::kMediaTypeLayerGzip, "nothing keeps this");
    ASSERT_TRUE(kept && loose);
    kept_ = kept->digest;
    loose_ = loose->digest;
    records_ = store_->root() / "cache" / "records";
    fs::create_directories(records_);
  }
  // A record as the build cache writes it; the store reads only layer.blob.digest.
  void writeRecord(const std::string& name, const Digest& blob) {
    Json j = {
        {"key", Digest::ofBytes(name).str()},
        {"created_by", "RUN " + name},
        {"layer",
         {{"blob", {{"mediaType", oci::kMediaTypeLayerGzip}, {"digest", blob.str()}, {"size", 12}}},
          {"diff_id", Digest::ofBytes("tar").str()}}}};
    writeText(records_ / (Digest::ofBytes(name).hex() + ".json"), canonicalJson(j));
  }

  TempDir dir_;
  std::optional<Store> store_;
  Digest kept_, loose_;
  fs::path records_;
};

TEST_F(CacheRootsTest, RecordsKeepTheirBlobs) {
  writeRecord("step", kept_);
  auto report = store_->prune();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->removed, std::vector<Digest>{loose_});
  EXPECT_TRUE(store_->hasBlob(kept_));
  EXPECT_FALSE(store_->hasBlob(loose_));
}

TEST_F(CacheRootsTest, WithoutCacheRootsTheBlobGoes) {
  writeRecord("step", kept_);
  PruneOptions options;
  options.dry_run = true;
  options.cache_roots = false;
  auto dry = store_->prune(options);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_EQ(dry->removed.size(), 2u);
  EXPECT_TRUE(store_->hasBlob(kept_));
  fs::remove(records_ / (Digest::ofBytes("step").hex() + ".json"));
  auto report = store_->prune();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(store_->hasBlob(kept_));
}

TEST_F(CacheRootsTest, DamagedRecordsKeepNothing) {
  writeText(records_ / "junk.json", "{not json");
  writeText(records_ / "other.json", R"({"layer":{"blob":{"digest":7}}})");
  writeText(records_ / (kept_.hex() + ".txt"),
            "{\"layer\":{\"blob\":{\"digest\":\"" + kept_.str() + "\"}}}");
  auto report = store_->prune();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->removed.size(), 2u);
}

TEST_F(CacheRootsTest, NoCacheDirectory) {
  fs::remove_all(store_->root() / "cache");
  auto report = store_->prune();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->removed.size(), 2u);
}

}  // namespace
}  // namespace hull::store
