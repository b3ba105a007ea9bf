#include "engine/archive.h"

#include <gtest/gtest.h>

namespace hull::engine {
namespace {

TEST(EntryPath, CleansHonestNamesAndRefusesHostileOnes) {
  EXPECT_EQ(cleanEntryPath("./manifest.json").value(), "manifest.json");
  EXPECT_EQ(cleanEntryPath("blobs//sha256/ab").value(), "blobs/sha256/ab");
  for (std::string_view bad : std::vector<std::string_view>{
           "/etc/passwd", "../x", "a/../../x", "a/..", "", "./", std::string_view("a\0b", 3)}) {
    auto r = cleanEntryPath(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kCorrupt);
  }
  EXPECT_FALSE(cleanEntryPath(std::string(5000, 'a')));
}

TEST(EntryPath, LinksResolveInsideTheArchiveOnly) {
  EXPECT_EQ(resolveLinkTarget("abc/layer.tar", "../def.tar").value(), "def.tar");
  EXPECT_EQ(resolveLinkTarget("layer.tar", "other.tar").value(), "other.tar");
  EXPECT_FALSE(resolveLinkTarget("abc/layer.tar", "../../etc/passwd"));
  EXPECT_FALSE(resolveLinkTarget("abc/layer.tar", "/etc/passwd"));
  EXPECT_FALSE(resolveLinkTarget("x", ""));
}

TEST(EntryPath, DigestsNamedByPaths) {
  std::string hex(64, 'a');
  EXPECT_EQ(digestInPath("blobs/sha256/" + hex)->hex(), hex);
  EXPECT_EQ(digestInPath(hex + ".json")->hex(), hex);
  EXPECT_FALSE(digestInPath(hex + "/layer.tar"));
  EXPECT_FALSE(digestInPath("blobs/sha256/xyz"));
  EXPECT_FALSE(digestInPath("dir/" + hex + ".json"));
}

TEST(DockerManifest, ParsesWhatPodmanAndDockerWrite) {
  auto images = parseDockerManifest(
      R"([{"Config":"abc.json","RepoTags":["busybox:latest"],"Layers":["l1/layer.tar","./l2.tar"]},
          {"Config":"def.json","RepoTags":null,"Layers":[]}])");
  ASSERT_TRUE(images) << images.error().message;
  ASSERT_EQ(images->size(), 2u);
  EXPECT_EQ((*images)[0].config, "abc.json");
  EXPECT_EQ((*images)[0].repo_tags, std::vector<std::string>{"busybox:latest"});
  EXPECT_EQ((*images)[0].layers, (std::vector<std::string>{"l1/layer.tar", "l2.tar"}));
  EXPECT_TRUE((*images)[1].repo_tags.empty());
}

TEST(DockerManifest, RefusesHostileOrMalformedManifests) {
  for (std::string_view bad :
       {"", "not json", "{}", "[]", "[1]", R"([{"Layers":[]}])", R"([{"Config":5,"Layers":[]}])",
        R"([{"Config":"a.json"}])", R"([{"Config":"a.json","Layers":"x"}])",
        R"([{"Config":"a.json","Layers":[1]}])", R"([{"Config":"../a.json","Layers":[]}])",
        R"([{"Config":"a.json","Layers":["/etc/passwd"]}])",
        R"([{"Config":"a.json","Layers":[],"RepoTags":"x"}])",
        R"([{"Config":"a.json","Layers":[],"RepoTags":[7]}])"}) {
    auto r = parseDockerManifest(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kCorrupt) << bad;
    EXPECT_NE(r.error().message.find("manifest.json"), std::string::npos) << r.error().message;
  }
}

TEST(ArchiveFormat, Parses) {
  EXPECT_EQ(parseArchiveFormat("docker").value(), ArchiveFormat::kDocker);
  EXPECT_EQ(parseArchiveFormat("oci-archive").value(), ArchiveFormat::kOci);
  EXPECT_FALSE(parseArchiveFormat("zip"));
}

}  // namespace
}  // namespace hull::engine
