// Untagged images: index.json entries without a name (Docker's dangling images).
#include <algorithm>

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

class UntaggedTest : public testing::StoreFixture {
 protected:
  TestImage image(const std::vector<std::string>& layers, const std::string& author) {
    return putImage(store(), layers, author);
  }
  std::vector<ImageRecord> all() {
    auto r = store().allImages();
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<ImageRecord>{};
  }
  // The untagged entries, by manifest digest.
  std::vector<Digest> untagged() {
    std::vector<Digest> out;
    for (const auto& r : all()) {
      if (r.name.empty()) out.push_back(r.manifest.digest);
    }
    return out;
  }
  bool blobsPresent(const TestImage& img) {
    bool all_there = store().hasBlob(img.manifest.digest) && store().hasBlob(img.config.digest);
    for (const auto& l : img.layers) all_there = all_there && store().hasBlob(l.digest);
    return all_there;
  }
  void expectClean() {
    auto problems = store().fsck();
    ASSERT_TRUE(problems) << problems.error().message;
    for (const auto& p : *problems) ADD_FAILURE() << p.blob.str() << ": " << p.what;
  }
};

TEST_F(UntaggedTest, KeepAddsOneEntryWithoutAName) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().keep(a.manifest));
  ASSERT_TRUE(store().keep(a.manifest)) << "keeping it again is a no-op";
  EXPECT_EQ(untagged(), std::vector<Digest>{a.manifest.digest});
  auto named = store().images();
  ASSERT_TRUE(named);
  EXPECT_TRUE(named->empty()) << "images() lists names only";

  auto index = parseJson(readText(root() / "index.json"), "index.json");
  ASSERT_TRUE(index);
  ASSERT_EQ((*index)["manifests"].size(), 1u);
  const Json& entry = (*index)["manifests"][0];
  EXPECT_EQ(entry["digest"], a.manifest.digest.str());
  EXPECT_FALSE(entry.contains("annotations") && entry["annotations"].contains(kRefName));
  expectClean();
}

TEST_F(UntaggedTest, UntaggedImagesAreFoundByIdAndDigest) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().keep(a.manifest));
  for (const std::string& ref : {a.config.digest.str(), a.config.digest.hex(),
                                 a.config.digest.shortId(), a.manifest.digest.str()}) {
    auto found = store().find(ref);
    ASSERT_TRUE(found) << ref << ": " << found.error().message;
    EXPECT_TRUE(found->name.empty()) << ref;
    EXPECT_EQ(found->manifest.digest, a.manifest.digest) << ref;
  }
  EXPECT_EQ(store().find("a").error().code, Errc::kNotFound);
}

TEST_F(UntaggedTest, KeepIsANoOpForANamedManifest) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().tag("a", a.manifest));
  ASSERT_TRUE(store().keep(a.manifest));
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].name, "a:latest");
}

TEST_F(UntaggedTest, KeepRefusesAnImageThatIsNotAllThere) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_EQ(::unlink(store().blobPath(a.layers[0].digest).c_str()), 0);
  auto r = store().keep(a.manifest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_NE(r.error().message.find(a.layers[0].digest.str()), std::string::npos);
  EXPECT_TRUE(all().empty());
  oci::Descriptor not_a_manifest = a.config;
  EXPECT_EQ(store().keep(not_a_manifest).error().code, Errc::kInvalidArgument);
}

TEST_F(UntaggedTest, MovingTheLastNameAwayKeepsTheOldImageUntagged) {
  TestImage a = image({"shared", "only a"}, "a");
  TestImage b = image({"shared", "only b"}, "b");
  ASSERT_TRUE(store().tag("app:v1", a.manifest));
  ASSERT_TRUE(store().tag("app:v1", b.manifest));
  EXPECT_EQ(untagged(), std::vector<Digest>{a.manifest.digest});
  auto found = store().find("app:v1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->manifest.digest, b.manifest.digest);
  // Untagged images are roots: a plain prune keeps them whole.
  auto pruned = store().prune();
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_TRUE(pruned->removed.empty());
  EXPECT_TRUE(pruned->untagged.empty());
  EXPECT_TRUE(blobsPresent(a));
  expectClean();
}

TEST_F(UntaggedTest, MovingANameToAnotherManifestOfTheSameImageKeepsNoUntaggedEntry) {
  // A docker-archive load of an image rewrites its manifest; the image ID stays.
  TestImage a = image({"layer a"}, "a");
  oci::Manifest m;
  m.media_type = std::string(oci::kMediaTypeImageManifest);
  m.config = a.config;
  m.layers = a.layers;
  m.annotations["rewritten"] = "yes";
  auto same = store().putBlob(oci::kMediaTypeImageManifest, oci::serialize(m));
  ASSERT_TRUE(same);
  ASSERT_NE(same->digest, a.manifest.digest);
  ASSERT_TRUE(store().tag("a", a.manifest));
  ASSERT_TRUE(store().tag("a", *same));
  EXPECT_TRUE(untagged().empty());
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].manifest.digest, same->digest);
}

TEST_F(UntaggedTest, AManifestThatCannotBeReadIsNotKeptWhenItsNameMoves) {
  TestImage a = image({"layer a"}, "a");
  TestImage b = image({"layer b"}, "b");
  ASSERT_TRUE(store().tag("x", a.manifest));
  ASSERT_EQ(::unlink(store().blobPath(a.manifest.digest).c_str()), 0);
  ASSERT_TRUE(store().tag("x", b.manifest));
  EXPECT_TRUE(untagged().empty());
  EXPECT_TRUE(store().prune()) << "nothing broken is left to stop a prune";
}

TEST_F(UntaggedTest, MovingANameFromASharedManifestKeepsNoUntaggedEntry) {
  TestImage a = image({"layer a"}, "a");
  TestImage b = image({"layer b"}, "b");
  ASSERT_TRUE(store().tag("x", a.manifest));
  ASSERT_TRUE(store().tag("y", a.manifest));
  ASSERT_TRUE(store().tag("x", b.manifest));
  EXPECT_TRUE(untagged().empty());
  ASSERT_TRUE(store().tag("x", b.manifest)) << "tagging the same manifest again";
  EXPECT_TRUE(untagged().empty());
  EXPECT_EQ(all().size(), 2u);
}

TEST_F(UntaggedTest, NamingAnUntaggedImageDropsItsUntaggedEntry) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().keep(a.manifest));
  ASSERT_TRUE(store().tag("named", a.manifest));
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].name, "named:latest");
}

TEST_F(UntaggedTest, UntagDoesNotKeepTheImage) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().tag("gone", a.manifest));
  ASSERT_TRUE(store().untag("gone"));
  EXPECT_TRUE(all().empty());
  auto pruned = store().prune();
  ASSERT_TRUE(pruned);
  EXPECT_FALSE(store().hasBlob(a.manifest.digest));
}

TEST_F(UntaggedTest, DropUntaggedLeavesNamesAlone) {
  TestImage a = image({"layer a"}, "a");
  TestImage b = image({"layer b"}, "b");
  ASSERT_TRUE(store().keep(a.manifest));
  ASSERT_TRUE(store().tag("b", b.manifest));
  ASSERT_TRUE(store().dropUntagged(a.manifest.digest));
  EXPECT_EQ(store().dropUntagged(a.manifest.digest).error().code, Errc::kNotFound);
  EXPECT_EQ(store().dropUntagged(b.manifest.digest).error().code, Errc::kNotFound);
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].name, "b:latest");
}

TEST_F(UntaggedTest, PruneOfUntaggedRemovesThemAndOnlyTheirBlobs) {
  TestImage a = image({"shared", "only a"}, "a");
  TestImage b = image({"shared", "only b"}, "b");
  ASSERT_TRUE(store().tag("app", a.manifest));
  ASSERT_TRUE(store().tag("app", b.manifest));
  std::string index_before = readText(root() / "index.json");

  auto dry = store().prune(PruneOptions{.dry_run = true, .untagged = true});
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_EQ(dry->untagged, std::vector<Digest>{a.config.digest}) << "reported by image ID";
  std::vector<Digest> expected = {a.manifest.digest, a.config.digest, a.layers[1].digest};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(dry->removed, expected);
  EXPECT_EQ(readText(root() / "index.json"), index_before) << "a dry run changes nothing";
  EXPECT_TRUE(blobsPresent(a));

  auto real = store().prune(PruneOptions{.dry_run = false, .untagged = true});
  ASSERT_TRUE(real) << real.error().message;
  EXPECT_EQ(real->untagged, dry->untagged);
  EXPECT_EQ(real->removed, expected);
  EXPECT_TRUE(untagged().empty());
  for (const auto& d : expected) EXPECT_FALSE(store().hasBlob(d)) << d.str();
  EXPECT_TRUE(blobsPresent(b));
  expectClean();

  auto again = store().prune(PruneOptions{.dry_run = false, .untagged = true});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->untagged.empty());
  EXPECT_TRUE(again->removed.empty());
}

TEST_F(UntaggedTest, AnUntaggedEntryOfANamedManifestIsNoDanglingImage) {
  // Written by another tool (skopeo copy into the store without a name, say).
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().tag("a", a.manifest));
  auto index = parseJson(readText(root() / "index.json"), "index.json");
  ASSERT_TRUE(index);
  Json entry = (*index)["manifests"][0];
  entry.erase("annotations");
  (*index)["manifests"].push_back(entry);
  (*index)["manifests"].push_back(entry);
  writeText(root() / "index.json", index->dump());
  ASSERT_EQ(all().size(), 3u);
  auto found = store().find(a.config.digest.shortId());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "a:latest") << "a name is preferred to an untagged entry";

  auto pruned = store().prune(PruneOptions{.dry_run = false, .untagged = true});
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_TRUE(pruned->untagged.empty()) << "no image was removed";
  EXPECT_TRUE(pruned->removed.empty());
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].name, "a:latest");
}

TEST_F(UntaggedTest, FsckNamesAnUntaggedImageByItsDigest) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().keep(a.manifest));
  ASSERT_EQ(::unlink(store().blobPath(a.layers[0].digest).c_str()), 0);
  auto problems = store().fsck();
  ASSERT_TRUE(problems);
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].blob, a.layers[0].digest);
  EXPECT_EQ((*problems)[0].images, std::vector<std::string>{"<none>@" + a.manifest.digest.str()});
  // A broken untagged image can still be pruned away: it is removed before the walk.
  auto pruned = store().prune(PruneOptions{.dry_run = false, .untagged = true});
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(pruned->untagged, std::vector<Digest>{a.config.digest});
  expectClean();
}

TEST_F(UntaggedTest, AnUntaggedManifestThatCannotBeReadStopsAPlainPrune) {
  TestImage a = image({"layer a"}, "a");
  ASSERT_TRUE(store().keep(a.manifest));
  ASSERT_EQ(::unlink(store().blobPath(a.manifest.digest).c_str()), 0);
  auto r = store().prune();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_NE(r.error().message.find("<none>@" + a.manifest.digest.str()), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(store().hasBlob(a.layers[0].digest));
  auto removed = store().prune(PruneOptions{.dry_run = false, .untagged = true});
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(removed->untagged, std::vector<Digest>{a.manifest.digest}) << "no ID without it";
  EXPECT_FALSE(store().hasBlob(a.layers[0].digest));
}

TEST_F(UntaggedTest, IndexWithUntaggedEntriesMatchesTheOciSchemaAndPeersReadIt) {
  TestImage named = image({emptyTar()}, "named");
  ASSERT_TRUE(store().tag("busybox:latest", named.manifest));
  TestImage loose = image({"untagged layer"}, "loose");
  ASSERT_TRUE(store().keep(loose.manifest));
  std::string schemas = std::string(HULL_SOURCE_DIR) + "/tests/integration/schemas/oci-image";
  std::string script = std::string(HULL_SOURCE_DIR) + "/tests/store/validate_oci.py";
  std::string out;
  int rc = runShell("/usr/bin/python3 " + script + " " + schemas + " image-index-schema.json " +
                        (root() / "index.json").string(),
                    &out);
  if (rc != 2) {
    EXPECT_EQ(rc, 0) << out;
  }
  if (!fs::exists("/usr/bin/skopeo")) GTEST_SKIP() << "skopeo is not installed";
  out.clear();
  ASSERT_EQ(runShell("/usr/bin/skopeo inspect oci:" + root().string() + ":busybox:latest", &out), 0)
      << out;
  auto j = parseJson(out, "skopeo output");
  ASSERT_TRUE(j) << out;
  EXPECT_EQ((*j)["Digest"], named.manifest.digest.str());
}

}  // namespace
}  // namespace hull::store
