// Layer records (store.h) as the commands write and use them: import and load record what they
// learn, save streams a compressed layer once when the record is there (and checks the stream
// all the same), images shows uncompressed sizes.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "engine/images.h"
#include "engine/import.h"
#include "engine/load.h"
#include "engine/save.h"
#include "layer/layer.h"
#include "test_util.h"

namespace hull::engine {
namespace {

class LayerRecordUseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::freshTempDir("hull-record-test");
    testing::makeRootfsTar(dir_, "data", 300000);
    if (HasFatalFailure()) return;
    auto tar = readFile(dir_ / "rootfs.tar");
    ASSERT_TRUE(tar);
    tar_ = *tar;
    auto s = store::Store::open(dir_ / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    auto fd = openFile(dir_ / "rootfs.tar", O_RDONLY);
    ASSERT_TRUE(fd);
    auto in = layer::fdReader(fd->get());
    ImportOptions options;
    options.name = "demo:1";
    auto r = importImage(*store_, *in, options);
    ASSERT_TRUE(r) << r.error().message;
    auto view = resolveImage(*store_, "demo:1");
    ASSERT_TRUE(view);
    layer_ = view->manifest.layers[0];
    diff_id_ = view->config.diff_ids[0];
  }
  void TearDown() override { (void)removeAll(dir_); }

  Result<void> save(const std::string& name) {
    return saveImagesToFile(*store_, {ArchiveFormat::kDocker, {"demo:1"}}, dir_ / name);
  }
  std::string gzip(const std::string& data) {
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
  // Replaces the stored layer blob's bytes (keeping its name) with the gzip of `tar`.
  void replaceLayerBytes(const std::string& tar) {
    fs::path blob = store_->blobPath(layer_.digest);
    fs::remove(blob);
    ASSERT_TRUE(writeFileAtomic(blob, gzip(tar)));
  }

  fs::path dir_;
  std::string tar_;
  std::optional<store::Store> store_;
  oci::Descriptor layer_;
  Digest diff_id_;
};

TEST_F(LayerRecordUseTest, ImportRecordsTheUncompressedStream) {
  auto record = store_->layerRecord(layer_.digest);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->diff_id, Digest::ofBytes(tar_));
  EXPECT_EQ(record->diff_id, diff_id_);
  EXPECT_EQ(record->size, static_cast<int64_t>(tar_.size()));
}

TEST_F(LayerRecordUseTest, ImagesShowTheUncompressedSizeWhenKnown) {
  auto view = resolveImage(*store_, "demo:1");
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->uncompressed_size);
  EXPECT_EQ(view->size, static_cast<int64_t>(tar_.size()));
  auto history = imageHistory(*store_, "demo:1");
  ASSERT_TRUE(history);
  EXPECT_EQ(history->front().size, static_cast<int64_t>(tar_.size()));
  auto inspected = inspectImage(*store_, "demo:1");
  ASSERT_TRUE(inspected);
  EXPECT_EQ((*inspected)["Size"], static_cast<int64_t>(tar_.size()));

  // Without the record hull falls back to what is stored; a record about another diff ID is
  // not this layer's.
  ASSERT_TRUE(store_->removeLayerRecord(layer_.digest));
  view = resolveImage(*store_, "demo:1");
  ASSERT_TRUE(view);
  EXPECT_FALSE(view->uncompressed_size);
  EXPECT_EQ(view->size, layer_.size);
  ASSERT_TRUE(store_->putLayerRecord(layer_.digest, {Digest::ofBytes("other"), 5}));
  EXPECT_EQ(resolveImage(*store_, "demo:1")->size, layer_.size);
}

TEST_F(LayerRecordUseTest, SaveWithoutARecordWritesOneAndTheSameArchive) {
  ASSERT_TRUE(save("with.tar"));
  ASSERT_TRUE(store_->removeLayerRecord(layer_.digest));
  auto r = save("without.tar");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(readFile(dir_ / "with.tar", 1 << 30).value(),
            readFile(dir_ / "without.tar", 1 << 30).value());
  auto record = store_->layerRecord(layer_.digest);
  ASSERT_TRUE(record) << "save records what it had to compute";
  EXPECT_EQ(record->size, static_cast<int64_t>(tar_.size()));
  EXPECT_EQ(record->diff_id, diff_id_);
}

TEST_F(LayerRecordUseTest, WrongRecordedSizeFailsTheSaveAndIsDropped) {
  for (int64_t delta : {-1, 1, -512}) {
    SCOPED_TRACE(delta);
    ASSERT_TRUE(store_->putLayerRecord(layer_.digest,
                                       {diff_id_, static_cast<int64_t>(tar_.size()) + delta}));
    auto r = save("out.tar");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kCorrupt);
    EXPECT_NE(r.error().message.find("its layer record says"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(fs::exists(dir_ / "out.tar")) << "a failed save leaves no file";
    EXPECT_FALSE(store_->layerRecord(layer_.digest));
    ASSERT_TRUE(save("out.tar")) << "the next save measures afresh";
    EXPECT_EQ(store_->layerRecord(layer_.digest)->size, static_cast<int64_t>(tar_.size()));
    fs::remove(dir_ / "out.tar");
  }
}

TEST_F(LayerRecordUseTest, SaveChecksTheStreamItWritesAgainstTheDiffId) {
  // Same length, one byte changed inside a file's data: only the diff ID can tell.
  std::string changed = tar_;
  std::size_t at = changed.find(std::string(1000, 'm'));
  ASSERT_NE(at, std::string::npos);
  changed[at + 500] = 'x';
  replaceLayerBytes(changed);
  auto r = save("out.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_NE(r.error().message.find("the image config says " + diff_id_.str()), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "out.tar"));

  // Without a record, the measuring pass finds it before anything is written.
  ASSERT_TRUE(store_->removeLayerRecord(layer_.digest));
  r = save("out.tar");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the image config says"), std::string::npos);
  EXPECT_FALSE(store_->layerRecord(layer_.digest)) << "nothing is recorded for a bad layer";
  EXPECT_FALSE(fs::exists(dir_ / "out.tar"));
}

TEST_F(LayerRecordUseTest, LongerStreamThanRecordedIsRefused) {
  replaceLayerBytes(tar_ + std::string(1024, '\0'));
  auto r = save("out.tar");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("more than"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "out.tar"));
}

TEST_F(LayerRecordUseTest, GarbageRecordIsIgnored) {
  ASSERT_TRUE(writeFileAtomic(store_->layerRecordPath(layer_.digest), "{\"diffID\": 7}"));
  auto r = save("out.tar");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(store_->layerRecord(layer_.digest)->size, static_cast<int64_t>(tar_.size()));
}

TEST_F(LayerRecordUseTest, LoadRecordsTheLayersItChecks) {
  for (ArchiveFormat format : {ArchiveFormat::kDocker, ArchiveFormat::kOci}) {
    SCOPED_TRACE(format == ArchiveFormat::kDocker ? "docker" : "oci");
    fs::path archive = dir_ / "archive.tar";
    fs::remove(archive);
    ASSERT_TRUE(saveImagesToFile(*store_, {format, {"demo:1"}}, archive));
    fs::path root = dir_ / (format == ArchiveFormat::kDocker ? "docker-store" : "oci-store");
    auto other = store::Store::open(root);
    ASSERT_TRUE(other);
    auto fd = openFile(archive, O_RDONLY);
    ASSERT_TRUE(fd);
    auto loaded = loadArchive(*other, fd->get());
    ASSERT_TRUE(loaded) << loaded.error().message;
    auto view = resolveImage(*other, "demo:1");
    ASSERT_TRUE(view);
    auto record = other->layerRecord(view->manifest.layers[0].digest);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->diff_id, diff_id_);
    EXPECT_EQ(record->size, static_cast<int64_t>(tar_.size()));
    EXPECT_TRUE(view->uncompressed_size);
    EXPECT_EQ(view->size, static_cast<int64_t>(tar_.size()));
  }
}

}  // namespace
}  // namespace hull::engine
