#include <sys/stat.h>

#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace hull::store {
namespace {

using testing::listDir;
using testing::putImage;
using testing::readText;
using testing::TestImage;
using testing::writeText;

class LayerRecordTest : public testing::StoreFixture {
 protected:
  Digest blob(const std::string& data) {
    auto d = store().putBlob(oci::kMediaTypeLayerGzip, data);
    EXPECT_TRUE(d) << d.error().message;
    return d ? d->digest : Digest();
  }
};

TEST_F(LayerRecordTest, RoundTrips) {
  Digest b = blob("compressed bytes");
  LayerRecord r{Digest::ofBytes("the tar"), 7};
  EXPECT_FALSE(store().layerRecord(b));
  auto put = store().putLayerRecord(b, r);
  ASSERT_TRUE(put) << put.error().message;
  auto got = store().layerRecord(b);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, r);
  EXPECT_EQ(readText(store().layerRecordPath(b)),
            R"({"diffID":")" + r.diff_id.str() + R"(","size":7})");
  EXPECT_TRUE(listDir(store().tmpDir()).empty()) << "the staging file is renamed into place";
}

TEST_F(LayerRecordTest, ReplacesAnOlderRecord) {
  Digest b = blob("layer");
  ASSERT_TRUE(store().putLayerRecord(b, {Digest::ofBytes("x"), 1}));
  ASSERT_TRUE(store().putLayerRecord(b, {Digest::ofBytes("y"), 2}));
  auto got = store().layerRecord(b);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->diff_id, Digest::ofBytes("y"));
  EXPECT_EQ(got->size, 2);
}

TEST_F(LayerRecordTest, RefusesARecordWithoutItsBlob) {
  Digest absent = Digest::ofBytes("not stored");
  auto put = store().putLayerRecord(absent, {Digest::ofBytes("x"), 1});
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, Errc::kNotFound);
  EXPECT_FALSE(fs::exists(store().layerRecordPath(absent)));
  EXPECT_FALSE(store().putLayerRecord(blob("b"), {Digest(), 1})) << "a record needs a diff ID";
  EXPECT_FALSE(store().putLayerRecord(blob("b"), {Digest::ofBytes("x"), -1}));
}

TEST_F(LayerRecordTest, GarbageReadsAsAbsent) {
  Digest b = blob("layer");
  std::string diff = Digest::ofBytes("x").str();
  for (const std::string& text : std::vector<std::string>{
           std::string(""),
           std::string("not json"),
           std::string("[1,2]"),
           R"({"diffID":")" + diff + R"("})",
           R"({"size":5})",
           R"({"diffID":")" + diff + R"(","size":-1})",
           R"({"diffID":")" + diff + R"(","size":1.5})",
           R"({"diffID":")" + diff + R"(","size":"5"})",
           R"({"diffID":")" + diff + R"(","size":18446744073709551615})",
           R"({"diffID":"sha256:ABC","size":5})",
           R"({"diffID":"md5:00","size":5})",
           R"({"diffID":")" + diff + R"(","size":5,"extra":1})",
           R"({"diffID":")" + diff + R"(","size":5,)" + std::string(5000, ' ') + "}",
       }) {
    writeText(store().layerRecordPath(b), text);
    EXPECT_FALSE(store().layerRecord(b)) << text.substr(0, 100);
  }
  writeText(store().layerRecordPath(b), R"({"diffID":")" + diff + R"(","size":5})");
  EXPECT_TRUE(store().layerRecord(b)) << "the same file, well formed, is read";
}

TEST_F(LayerRecordTest, SymlinkedRecordIsNotFollowed) {
  Digest b = blob("layer");
  fs::path target = dir_.path() / "elsewhere.json";
  writeText(target, R"({"diffID":")" + Digest::ofBytes("x").str() + R"(","size":5})");
  fs::create_symlink(target, store().layerRecordPath(b));
  EXPECT_FALSE(store().layerRecord(b));
}

TEST_F(LayerRecordTest, PruneRemovesTheRecordsOfRemovedBlobs) {
  TestImage kept = putImage(store(), {"kept layer"}, "kept");
  ASSERT_TRUE(store().tag("kept", kept.manifest));
  Digest dropped = blob("unreferenced layer");
  Digest kept_layer = kept.layers[0].digest;
  ASSERT_TRUE(store().putLayerRecord(kept_layer, {Digest::ofBytes("k"), 10}));
  ASSERT_TRUE(store().putLayerRecord(dropped, {Digest::ofBytes("d"), 20}));
  // A record left behind by a blob deleted some other way, and a name prune does not own.
  Digest orphan = Digest::ofBytes("gone");
  writeText(store().layerRecordPath(orphan), "{}");
  writeText(store().root() / "layers" / "README", "not a record");

  auto dry = store().prune(/*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_TRUE(fs::exists(store().layerRecordPath(dropped))) << "a dry run removes nothing";

  auto pruned = store().prune();
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(pruned->removed, std::vector<Digest>{dropped});
  EXPECT_FALSE(fs::exists(store().layerRecordPath(dropped)));
  EXPECT_FALSE(fs::exists(store().layerRecordPath(orphan)));
  EXPECT_TRUE(store().layerRecord(kept_layer));
  EXPECT_TRUE(fs::exists(store().root() / "layers" / "README"));
}

TEST_F(LayerRecordTest, RemoveIsIdempotent) {
  Digest b = blob("layer");
  ASSERT_TRUE(store().putLayerRecord(b, {Digest::ofBytes("x"), 1}));
  EXPECT_TRUE(store().removeLayerRecord(b));
  EXPECT_FALSE(store().layerRecord(b));
  EXPECT_TRUE(store().removeLayerRecord(b));
}

TEST_F(LayerRecordTest, FsckIgnoresRecords) {
  TestImage img = putImage(store(), {"layer"}, "a");
  ASSERT_TRUE(store().tag("a", img.manifest));
  ASSERT_TRUE(store().putLayerRecord(img.layers[0].digest, {Digest::ofBytes("x"), 1}));
  writeText(store().layerRecordPath(Digest::ofBytes("orphan")), "garbage");
  auto problems = store().fsck();
  ASSERT_TRUE(problems) << problems.error().message;
  EXPECT_TRUE(problems->empty());
}

TEST_F(LayerRecordTest, StoreCreatedBeforeRecordsExistedGetsTheDirectory) {
  fs::remove_all(store().root() / "layers");
  auto reopened = Store::open(store().root());
  ASSERT_TRUE(reopened) << reopened.error().message;
  Digest b = blob("layer");
  EXPECT_FALSE(reopened->layerRecord(b));
  fs::remove_all(store().root() / "layers");
  EXPECT_TRUE(reopened->putLayerRecord(b, {Digest::ofBytes("x"), 1}));
  EXPECT_TRUE(reopened->layerRecord(b));
}

}  // namespace
}  // namespace hull::store
