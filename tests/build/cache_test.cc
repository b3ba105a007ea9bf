// The build cache: key bytes, record files and what lookup refuses to trust.
#include "build/cache.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "oci/media_types.h"
#include "temp_dir_util.h"

namespace hull::build {
namespace {

using testing::ScratchDir;
using testing::writeText;

TEST(KeyBuilderTest, SameFieldsSameKey) {
  Digest a =
      KeyBuilder("run").add("cmd", "echo hi").add("env", std::vector<std::string>{"A=1"}).finish();
  Digest b =
      KeyBuilder("run").add("cmd", "echo hi").add("env", std::vector<std::string>{"A=1"}).finish();
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
}

TEST(KeyBuilderTest, OrderMatters) {
  EXPECT_NE(KeyBuilder("run").add("a", "1").add("b", "2").finish(),
            KeyBuilder("run").add("b", "2").add("a", "1").finish());
  EXPECT_NE(KeyBuilder("run").add("l", std::vector<std::string>{"x", "y"}).finish(),
            KeyBuilder("run").add("l", std::vector<std::string>{"y", "x"}).finish());
}

TEST(KeyBuilderTest, FieldBoundariesCannotCollide) {
  EXPECT_NE(KeyBuilder("run").add("ab", "c").finish(), KeyBuilder("run").add("a", "bc").finish());
  EXPECT_NE(KeyBuilder("run").add("x", "ab").add("y", "c").finish(),
            KeyBuilder("run").add("x", "a").add("y", "bc").finish());
  EXPECT_NE(KeyBuilder("run").add("l", std::vector<std::string>{"ab", "c"}).finish(),
            KeyBuilder("run").add("l", std::vector<std::string>{"a", "bc"}).finish());
  EXPECT_NE(KeyBuilder("run").add("l", std::vector<std::string>{"a"}).finish(),
            KeyBuilder("run").add("l", "a").finish());
  EXPECT_NE(KeyBuilder("run").add("l", std::vector<std::string>{}).finish(),
            KeyBuilder("run").finish());
  EXPECT_NE(KeyBuilder("run").add("a", "b").finish(), KeyBuilder("copy").add("a", "b").finish());
  EXPECT_NE(KeyBuilder("ru").add("na", "b").finish(), KeyBuilder("run").add("a", "b").finish());
  Digest d = Digest::ofBytes("x");
  EXPECT_NE(KeyBuilder("run").add("p", d).finish(), KeyBuilder("run").add("p", d.str()).finish());
}

// The key's bytes are a format: changing them invalidates every cache on disk. This value
// changes only with kKeyVersion. The bytes hashed are, for the first:
// 17:hull-cache-key-v1 3:run d6:parent71:sha256:<hex> s3:cmd18:/bin/sh -c echo hi
// l4:args1:2 3:A=1 3:B=2 (without the spaces).
TEST(KeyBuilderTest, GoldenValue) {
  Digest parent = Digest::ofBytes("parent");
  Digest k = KeyBuilder("run")
                 .add("parent", parent)
                 .add("cmd", "/bin/sh -c echo hi")
                 .add("args", std::vector<std::string>{"A=1", "B=2"})
                 .finish();
  EXPECT_EQ(k.str(), "sha256:422dadb08abab7b65db308d318dc88062f13ee46fd86d4d6a8c52278efdf6731");
  EXPECT_EQ(baseKey(std::nullopt).str(),
            "sha256:063f19d970b9660943958da6e6872072e5610f706718867013975b5bb1f45697");
}

TEST(KeyBuilderTest, BaseKeys) {
  Digest m1 = Digest::ofBytes("m1"), m2 = Digest::ofBytes("m2");
  EXPECT_EQ(baseKey(m1), baseKey(m1));
  EXPECT_NE(baseKey(m1), baseKey(m2));
  EXPECT_NE(baseKey(m1), baseKey(std::nullopt));
  EXPECT_EQ(baseKey(std::nullopt), baseKey(std::nullopt));
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::open(dir_.path() / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    cache_.emplace(*store_);
    auto blob = store_->putBlob(oci::kMediaTypeLayerGzip, "layer bytes");
    ASSERT_TRUE(blob) << blob.error().message;
    layer_ = Layer{*blob, Digest::ofBytes("tar bytes")};
  }
  fs::path recordPath(const Digest& key) const {
    return store_->root() / "cache" / "records" / (key.hex() + ".json");
  }
  CacheRecord record(std::string_view name, bool with_layer = true) const {
    CacheRecord r;
    r.key = KeyBuilder("run").add("cmd", name).finish();
    if (with_layer) r.layer = layer_;
    r.created_by = "RUN " + std::string(name);
    return r;
  }

  ScratchDir dir_{"hull-cache-test"};
  std::optional<store::Store> store_;
  std::optional<Cache> cache_;
  Layer layer_;
};

TEST_F(CacheTest, PutThenLookup) {
  CacheRecord r = record("a");
  ASSERT_TRUE(cache_->put(r));
  auto got = cache_->lookup(r.key);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->key, r.key);
  ASSERT_TRUE(got->layer);
  EXPECT_EQ(*got->layer, layer_);
  EXPECT_EQ(got->created_by, "RUN a");
  EXPECT_TRUE(fs::is_regular_file(recordPath(r.key)));
  // Staged in tmp/ and renamed: nothing is left behind.
  EXPECT_TRUE(fs::is_empty(store_->tmpDir()));
  EXPECT_EQ(std::distance(fs::directory_iterator(recordPath(r.key).parent_path()),
                          fs::directory_iterator()),
            1);
}

TEST_F(CacheTest, RecordWithoutLayer) {
  CacheRecord r = record("env only", false);
  ASSERT_TRUE(cache_->put(r));
  auto got = cache_->lookup(r.key);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->layer);
  auto text = readFile(recordPath(r.key));
  ASSERT_TRUE(text);
  EXPECT_EQ(text->find("layer"), std::string::npos);
}

TEST_F(CacheTest, JsonRoundTrip) {
  CacheRecord r = record("json");
  Json j = toJson(r);
  EXPECT_EQ(j["layer"]["blob"]["digest"], layer_.blob.digest.str());
  EXPECT_EQ(j["layer"]["diff_id"], layer_.diff_id.str());
  EXPECT_EQ(j["key"], r.key.str());
  auto back = cacheRecordFromJson(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key, r.key);
  EXPECT_EQ(back->layer, r.layer);
  EXPECT_EQ(back->created_by, r.created_by);
  EXPECT_FALSE(cacheRecordFromJson(Json::array()));
  EXPECT_FALSE(cacheRecordFromJson(Json{{"key", "sha256:nope"}}));
  EXPECT_FALSE(cacheRecordFromJson(Json{{"key", r.key.str()}, {"layer", {{"diff_id", 1}}}}));
}

TEST_F(CacheTest, LookupMissing) {
  EXPECT_FALSE(cache_->lookup(record("nothing").key));
  EXPECT_FALSE(cache_->lookup(Digest()));
}

TEST_F(CacheTest, LookupUnparsable) {
  CacheRecord r = record("bad");
  ASSERT_TRUE(cache_->put(r));
  writeText(recordPath(r.key), "{not json");
  EXPECT_FALSE(cache_->lookup(r.key));
  writeText(recordPath(r.key), "{\"key\":\"" + r.key.str() + "\",\"layer\":7}");
  EXPECT_FALSE(cache_->lookup(r.key));
}

TEST_F(CacheTest, LookupRefusesARecordUnderAnotherKey) {
  CacheRecord a = record("a"), b = record("b");
  ASSERT_TRUE(cache_->put(a));
  fs::copy_file(recordPath(a.key), recordPath(b.key));
  EXPECT_FALSE(cache_->lookup(b.key));
  EXPECT_TRUE(cache_->lookup(a.key));
}

TEST_F(CacheTest, LookupRefusesARecordWhoseBlobIsGone) {
  CacheRecord r = record("gone");
  ASSERT_TRUE(cache_->put(r));
  ASSERT_TRUE(fs::remove(store_->blobPath(layer_.blob.digest)));
  EXPECT_FALSE(cache_->lookup(r.key));
}

TEST_F(CacheTest, LookupRefusesASymlinkedRecord) {
  CacheRecord a = record("a"), b = record("b");
  ASSERT_TRUE(cache_->put(a));
  ASSERT_TRUE(cache_->put(b));
  fs::remove(recordPath(b.key));
  fs::create_symlink(recordPath(a.key), recordPath(b.key));
  EXPECT_FALSE(cache_->lookup(b.key));
}

TEST_F(CacheTest, PutRefusesAnAbsentBlob) {
  CacheRecord r = record("absent");
  r.layer->blob.digest = Digest::ofBytes("not stored");
  auto put = cache_->put(r);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, Errc::kNotFound);
  EXPECT_FALSE(fs::exists(recordPath(r.key)));
}

TEST_F(CacheTest, PutReplaces) {
  CacheRecord r = record("again");
  ASSERT_TRUE(cache_->put(r));
  r.created_by = "RUN again, second";
  ASSERT_TRUE(cache_->put(r));
  EXPECT_EQ(cache_->lookup(r.key)->created_by, "RUN again, second");
}

TEST_F(CacheTest, MountDir) {
  fs::path d = cache_->mountDir("pip");
  EXPECT_EQ(d, store_->root() / "cache" / "mounts" / Digest::ofBytes("pip").hex());
  EXPECT_NE(cache_->mountDir("/root/.cache"), d);
  // An id is never a path: "../.." stays one hashed name under mounts/.
  EXPECT_EQ(cache_->mountDir("../..").parent_path(), d.parent_path());
}

TEST_F(CacheTest, Clear) {
  ASSERT_TRUE(cache_->put(record("a")));
  ASSERT_TRUE(cache_->put(record("b", false)));
  fs::path mount = cache_->mountDir("pip");
  fs::create_directories(mount / "wheels");
  writeText(mount / "wheels" / "x.whl", "wheel");
  writeText(store_->root() / "cache" / "records" / "README", "not a record");

  auto dry = cache_->clear(true);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_EQ(*dry, 2);
  EXPECT_TRUE(cache_->lookup(record("a").key));
  EXPECT_TRUE(fs::exists(mount / "wheels" / "x.whl"));

  auto done = cache_->clear(false);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(*done, 2);
  EXPECT_FALSE(cache_->lookup(record("a").key));
  EXPECT_FALSE(cache_->lookup(record("b").key));
  EXPECT_FALSE(fs::exists(mount));
  EXPECT_TRUE(fs::exists(store_->root() / "cache" / "records" / "README"));
  // The blob stays: removing what only the records kept is the store's prune.
  EXPECT_TRUE(store_->hasBlob(layer_.blob.digest));

  auto again = cache_->clear(false);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

TEST_F(CacheTest, ClearOnAFreshStore) {
  auto n = cache_->clear(false);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0);
}

}  // namespace
}  // namespace hull::build
