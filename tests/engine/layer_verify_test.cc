// The diff-ID check made before a pulled layer is first unpacked (engine/layer_verify.h).
#include "engine/layer_verify.h"

#include <gtest/gtest.h>

#include "base/fs.h"
#include "layer/layer.h"
#include "oci/media_types.h"
#include "test_util.h"

namespace hull::engine {
namespace {

class LayerVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::freshTempDir("hull-layer-verify-test");
    testing::makeRootfsTar(dir_, "data", 300000);
    if (HasFatalFailure()) return;
    auto tar = readFile(dir_ / "rootfs.tar");
    ASSERT_TRUE(tar);
    tar_ = *tar;
    auto s = store::Store::open(dir_ / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    auto blob = store_->putBlob(oci::kMediaTypeLayerGzip, gzip(tar_));
    ASSERT_TRUE(blob) << blob.error().message;
    blob_ = blob->digest;
    diff_id_ = Digest::ofBytes(tar_);
  }
  void TearDown() override { (void)removeAll(dir_); }

  static std::string gzip(const std::string& data) {
    std::string out;
    auto sink = layer::funcWriter([&](const void* p, std::size_t n) -> Result<void> {
      out.append(static_cast<const char*>(p), n);
      return {};
    });
    auto gz = layer::compressingWriter(*sink, layer::Compression::kGzip, 1);
    EXPECT_TRUE(gz->write(data.data(), data.size()));
    EXPECT_TRUE(gz->finish());
    return out;
  }

  fs::path dir_;
  std::string tar_;
  std::optional<store::Store> store_;
  Digest blob_;
  Digest diff_id_;
};

TEST_F(LayerVerifyTest, MatchingLayerIsRecordedWithItsUncompressedSize) {
  ASSERT_FALSE(store_->layerRecord(blob_)) << "a pull writes no record";
  auto r = verifyLayerDiffId(*store_, blob_, diff_id_);
  ASSERT_TRUE(r) << r.error().message;
  auto record = store_->layerRecord(blob_);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->diff_id, diff_id_);
  EXPECT_EQ(record->size, static_cast<int64_t>(tar_.size()));
}

TEST_F(LayerVerifyTest, ConfigNamingOtherContentIsRefusedAndNothingRecorded) {
  Digest claimed = Digest::ofBytes("some other tar stream");
  auto r = verifyLayerDiffId(*store_, blob_, claimed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_NE(r.error().message.find("the image config says " + claimed.str()), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(diff_id_.str()), std::string::npos) << r.error().message;
  EXPECT_FALSE(store_->layerRecord(blob_));
}

TEST_F(LayerVerifyTest, RecordNamingAnotherDiffIdIsNotTrusted) {
  // The content decides in both directions: a stale record neither refuses the right diff ID
  // nor vouches for its own.
  Digest other = Digest::ofBytes("other");
  ASSERT_TRUE(store_->putLayerRecord(blob_, {.diff_id = other, .size = 5}));
  auto r = verifyLayerDiffId(*store_, blob_, diff_id_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(store_->layerRecord(blob_)->diff_id, diff_id_) << "the record is corrected";
}

TEST_F(LayerVerifyTest, RecordForTheDiffIdSparesTheDecompression) {
  ASSERT_TRUE(verifyLayerDiffId(*store_, blob_, diff_id_));
  // With the blob gone only the record can answer.
  ASSERT_TRUE(fs::remove(store_->blobPath(blob_)));
  EXPECT_TRUE(verifyLayerDiffId(*store_, blob_, diff_id_));
  EXPECT_FALSE(verifyLayerDiffId(*store_, blob_, Digest::ofBytes("x")));
}

TEST_F(LayerVerifyTest, DamagedBlobFails) {
  fs::path path = store_->blobPath(blob_);
  std::string bytes = gzip(tar_);
  bytes[bytes.size() / 2] ^= 0x55;
  ASSERT_TRUE(fs::remove(path));
  ASSERT_TRUE(writeFileAtomic(path, bytes));
  auto r = verifyLayerDiffId(*store_, blob_, diff_id_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(blob_.str()), std::string::npos) << r.error().message;
  EXPECT_FALSE(store_->layerRecord(blob_));
}

TEST_F(LayerVerifyTest, UncompressedLayerIsItsOwnDiffId) {
  auto blob = store_->putBlob(oci::kMediaTypeLayer, tar_);
  ASSERT_TRUE(blob);
  EXPECT_TRUE(verifyLayerDiffId(*store_, blob->digest, diff_id_));
}

}  // namespace
}  // namespace hull::engine
