#include <sys/stat.h>

#include <map>

#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace hull::store {
namespace {

using testing::emptyTar;
using testing::kRefName;
using testing::putImage;
using testing::readText;
using testing::runShell;
using testing::TestImage;
using testing::writeText;

class StoreTest : public testing::StoreFixture {
 protected:
  TestImage tagged(const std::string& name, const std::vector<std::string>& layers,
                   const std::string& author = "") {
    TestImage img = putImage(store(), layers, author);
    auto r = store().tag(name, img.manifest);
    EXPECT_TRUE(r) << r.error().message;
    return img;
  }
};

TEST_F(StoreTest, OpenCreatesAnOciLayout) {
  EXPECT_EQ(readText(root() / "oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  auto index = parseJson(readText(root() / "index.json"), "index.json");
  ASSERT_TRUE(index);
  EXPECT_EQ((*index)["schemaVersion"], 2);
  EXPECT_TRUE((*index)["manifests"].is_array());
  for (const char* d : {"blobs/sha256", "snapshots", "cache", "containers", "volumes", "tmp"}) {
    EXPECT_TRUE(fs::is_directory(root() / d)) << d;
  }
  struct stat st {};
  ASSERT_EQ(::stat(root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto images = store().images();
  ASSERT_TRUE(images);
  EXPECT_TRUE(images->empty());
}

TEST_F(StoreTest, ReopeningKeepsNames) {
  TestImage img = tagged("busybox", {emptyTar()});
  reopen();
  auto images = store().images();
  ASSERT_TRUE(images);
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ((*images)[0].name, "busybox:latest");
  EXPECT_EQ((*images)[0].manifest.digest, img.manifest.digest);
}

TEST_F(StoreTest, DamagedLayoutFileIsReportedNotFatal) {
  writeText(root() / "oci-layout", "\x01garbage{");
  auto garbage = Store::open(root());
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Errc::kCorrupt);
  EXPECT_NE(garbage.error().message.find("oci-layout"), std::string::npos);

  writeText(root() / "oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
  auto version = Store::open(root());
  ASSERT_FALSE(version);
  EXPECT_EQ(version.error().code, Errc::kCorrupt);
  EXPECT_NE(version.error().message.find("2.0.0"), std::string::npos) << version.error().message;

  writeText(root() / "oci-layout", "[1,2]");
  EXPECT_EQ(Store::open(root()).error().code, Errc::kCorrupt);
}

TEST_F(StoreTest, DamagedIndexIsReportedNotFatal) {
  const std::vector<std::string> damaged = {
      "not json at all",
      "",
      "[]",
      R"({"schemaVersion":2,"manifests":5})",
      R"({"schemaVersion":3,"manifests":[]})",
      R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:abc","size":1}]})",
      std::string(1000, '['),
  };
  for (const auto& text : damaged) {
    writeText(root() / "index.json", text);
    auto images = store().images();
    ASSERT_FALSE(images) << text;
    EXPECT_EQ(images.error().code, Errc::kCorrupt) << images.error().message;
    EXPECT_NE(images.error().message.find("index.json"), std::string::npos)
        << images.error().message;
    EXPECT_EQ(store().find("busybox").error().code, Errc::kCorrupt);
    EXPECT_EQ(store().fsck().error().code, Errc::kCorrupt);
    EXPECT_EQ(store().prune().error().code, Errc::kCorrupt);
  }
  fs::remove(root() / "index.json");
  auto missing = store().images();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kCorrupt);
  EXPECT_NE(missing.error().message.find("index.json"), std::string::npos);
}

TEST_F(StoreTest, TagWritesAnIndexEntryPerName) {
  TestImage a = tagged("docker.io/library/busybox", {emptyTar()});
  TestImage b = tagged("localhost:5000/ml/serve:v1", {"layer-b"});
  auto index = parseJson(readText(root() / "index.json"), "index.json");
  ASSERT_TRUE(index);
  ASSERT_EQ((*index)["manifests"].size(), 2u);
  std::map<std::string, std::string> names;
  for (const auto& m : (*index)["manifests"]) {
    EXPECT_EQ(m["mediaType"], oci::kMediaTypeImageManifest);
    names[m["annotations"][kRefName]] = m["digest"];
  }
  EXPECT_EQ(names["busybox:latest"], a.manifest.digest.str());
  EXPECT_EQ(names["localhost:5000/ml/serve:v1"], b.manifest.digest.str());

  // Tagging an existing name moves it; the other names stay.
  ASSERT_TRUE(store().tag("busybox:latest", b.manifest));
  auto images = store().images();
  ASSERT_TRUE(images);
  ASSERT_EQ(images->size(), 2u);
  for (const auto& r : *images) EXPECT_EQ(r.manifest.digest, b.manifest.digest) << r.name;
  EXPECT_TRUE(testing::listDir(store().tmpDir()).empty()) << "index staging files are renamed";
}

TEST_F(StoreTest, IndexMatchesTheOciSchema) {
  tagged("busybox", {emptyTar()});
  tagged("localhost:5000/x:1", {"other"});
  std::string schemas = std::string(HULL_SOURCE_DIR) + "/tests/integration/schemas/oci-image";
  ASSERT_TRUE(fs::exists(schemas)) << "no OCI schemas at " << schemas;
  std::string script = std::string(HULL_SOURCE_DIR) + "/tests/store/validate_oci.py";
  for (auto [schema, file] : {std::pair{"image-index-schema.json", "index.json"},
                              std::pair{"image-layout-schema.json", "oci-layout"}}) {
    std::string out;
    int rc = runShell("/usr/bin/python3 " + script + " " + schemas + " " + schema + " " +
                          (root() / file).string(),
                      &out);
    if (rc == 2) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
  }
}

TEST_F(StoreTest, SkopeoAndUmociReadTheStore) {
  if (!fs::exists("/usr/bin/skopeo")) GTEST_SKIP() << "skopeo is not installed";
  TestImage img = tagged("busybox:latest", {emptyTar()});
  tagged("localhost:5000/ml/serve:v1", {"not a tar, never read"});
  std::string out;
  ASSERT_EQ(runShell("/usr/bin/skopeo inspect oci:" + root().string() + ":busybox:latest", &out), 0)
      << out;
  auto j = parseJson(out, "skopeo output");
  ASSERT_TRUE(j) << out;
  EXPECT_EQ((*j)["Digest"], img.manifest.digest.str());
  EXPECT_EQ((*j)["Layers"][0], img.layers[0].digest.str());
  out.clear();
  EXPECT_NE(runShell("/usr/bin/skopeo inspect oci:" + root().string() + ":nosuch:latest", &out), 0);
  if (fs::exists("/usr/bin/umoci")) {
    out.clear();
    ASSERT_EQ(runShell("/usr/bin/umoci ls --layout " + root().string(), &out), 0) << out;
    EXPECT_NE(out.find("busybox:latest"), std::string::npos) << out;
  }
}

TEST_F(StoreTest, TagRefusesIncompleteImagesAndBadNames) {
  TestImage img = putImage(store(), {"layer-1", "layer-2"});
  ASSERT_TRUE(fs::remove(store().blobPath(img.layers[1].digest)));
  auto r = store().tag("broken", img.manifest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_NE(r.error().message.find(img.layers[1].digest.str()), std::string::npos)
      << r.error().message;

  TestImage ok = putImage(store(), {"fine"});
  EXPECT_EQ(store().tag("Upper", ok.manifest).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(store().tag("x@" + ok.manifest.digest.str(), ok.manifest).error().code,
            Errc::kInvalidArgument);
  oci::Descriptor layer_as_manifest = ok.layers[0];
  EXPECT_EQ(store().tag("x", layer_as_manifest).error().code, Errc::kInvalidArgument);
  auto images = store().images();
  ASSERT_TRUE(images);
  EXPECT_TRUE(images->empty());
}

TEST_F(StoreTest, UntagRemovesOnlyTheName) {
  TestImage img = tagged("a", {"l"});
  tagged("b", {"l"});
  ASSERT_TRUE(store().untag("docker.io/library/a:latest"));
  auto images = store().images();
  ASSERT_TRUE(images);
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ((*images)[0].name, "b:latest");
  EXPECT_TRUE(store().hasBlob(img.manifest.digest)) << "blobs go only with prune";
  auto again = store().untag("a");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kNotFound);
  EXPECT_EQ(again.error().message, "image not found: a:latest");
}

TEST_F(StoreTest, FindByNameIdAndDigest) {
  TestImage bb = tagged("busybox", {emptyTar()});
  TestImage ml = tagged("localhost:5000/ml/serve:v1", {"ml"});
  const std::string id = bb.config.digest.hex();

  auto check = [&](const std::string& ref, const TestImage& want, const std::string& name) {
    auto r = store().find(ref);
    ASSERT_TRUE(r) << ref << ": " << r.error().message;
    EXPECT_EQ(r->manifest.digest, want.manifest.digest) << ref;
    EXPECT_EQ(r->name, name) << ref;
  };
  check("busybox", bb, "busybox:latest");
  check("busybox:latest", bb, "busybox:latest");
  check("docker.io/library/busybox:latest", bb, "busybox:latest");
  check("localhost:5000/ml/serve:v1", ml, "localhost:5000/ml/serve:v1");
  check(id, bb, "busybox:latest");
  check(id.substr(0, 12), bb, "busybox:latest");
  check(id.substr(0, 4), bb, "busybox:latest");
  check("sha256:" + id, bb, "busybox:latest");
  check("sha256:" + id.substr(0, 8), bb, "busybox:latest");
  check(bb.manifest.digest.str(), bb, "busybox:latest");
  check("busybox@" + bb.manifest.digest.str(), bb, "busybox:latest");
  check("localhost:5000/ml/serve@" + ml.manifest.digest.str(), ml, "localhost:5000/ml/serve:v1");

  auto id_of = store().imageId(bb.manifest);
  ASSERT_TRUE(id_of);
  EXPECT_EQ(*id_of, bb.config.digest);
}

TEST_F(StoreTest, FindReportsWhatIsMissing) {
  TestImage bb = tagged("busybox", {emptyTar()});
  for (const std::string& ref :
       std::vector<std::string>{"nosuch", "busybox:1.0", "ffff", "sha256:ffffffff",
                                "localhost:5000/ml/serve@" + bb.manifest.digest.str()}) {
    auto r = store().find(ref);
    ASSERT_FALSE(r) << ref;
    EXPECT_EQ(r.error().code, Errc::kNotFound) << ref;
    EXPECT_EQ(r.error().message, "image not found: " + ref);
  }
  EXPECT_EQ(store().find("abc").error().code, Errc::kNotFound) << "3 hex digits are a name";
  EXPECT_EQ(store().find("Upper").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(store().find("").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(store().find("sha256:xyz").error().code, Errc::kInvalidArgument);
}

TEST_F(StoreTest, AmbiguousShortIdIsAnError) {
  // Find two configs whose image IDs share their first four hex digits (birthday bound: a few
  // hundred tries).
  std::map<std::string, std::string> by_prefix;
  std::string first, second, prefix;
  for (int i = 0; first.empty(); ++i) {
    oci::ImageConfig cfg;
    cfg.architecture = "amd64";
    cfg.os = "linux";
    cfg.author = "author-" + std::to_string(i);
    std::string hex = Digest::ofBytes(oci::serialize(cfg)).hex();
    auto [it, added] = by_prefix.emplace(hex.substr(0, 4), cfg.author);
    if (!added) {
      first = it->second;
      second = cfg.author;
      prefix = hex.substr(0, 4);
    }
  }
  TestImage a = tagged("one", {}, first);
  TestImage b = tagged("two", {}, second);
  ASSERT_EQ(a.config.digest.hex().substr(0, 4), prefix);
  ASSERT_EQ(b.config.digest.hex().substr(0, 4), prefix);
  auto r = store().find(prefix);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(r.error().message.starts_with("ambiguous image ID")) << r.error().message;
  auto longer = store().find(a.config.digest.hex().substr(0, 20));
  ASSERT_TRUE(longer) << longer.error().message;
  EXPECT_EQ(longer->name, "one:latest");

  // Two names for one image are not ambiguous.
  ASSERT_TRUE(store().tag("alias", a.manifest));
  auto alias = store().find(a.config.digest.hex().substr(0, 20));
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->manifest.digest, a.manifest.digest);
}

TEST_F(StoreTest, ReadsManifestAndConfigBack) {
  TestImage img = tagged("busybox", {emptyTar(), "second"}, "someone");
  auto m = store().manifest(img.manifest);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].digest, img.layers[1].digest);
  auto c = store().config(*m);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->author, "someone");
  EXPECT_EQ(c->diff_ids.size(), 2u);

  testing::flipByte(store().blobPath(img.config.digest), 3);
  EXPECT_EQ(store().config(*m).error().code, Errc::kCorrupt);
  oci::Descriptor wrong_size = img.manifest;
  wrong_size.size += 1;
  EXPECT_EQ(store().manifest(wrong_size).error().code, Errc::kCorrupt);
}

}  // namespace
}  // namespace hull::store
