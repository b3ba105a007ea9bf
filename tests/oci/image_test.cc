#include <gtest/gtest.h>

#include "oci/image.h"
#include "oci/media_types.h"

namespace hull::oci {
namespace {

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

TEST(Manifest, RoundTrip) {
  Manifest m;
  m.media_type = std::string(kMediaTypeImageManifest);
  m.config.media_type = std::string(kMediaTypeImageConfig);
  m.config.digest = *Digest::parse("sha256:" + kHexA);
  m.config.size = 10;
  Descriptor layer;
  layer.media_type = std::string(kMediaTypeLayerGzip);
  layer.digest = *Digest::parse("sha256:" + kHexB);
  layer.size = 20;
  m.layers.push_back(layer);
  m.annotations["k"] = "v";
  auto back = parseManifest(serialize(m));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->config, m.config);
  EXPECT_EQ(back->layers, m.layers);
  EXPECT_EQ(back->annotations, m.annotations);
  EXPECT_EQ(serialize(*back), serialize(m));
}

TEST(Manifest, RejectsSchema1AndBadShapes) {
  auto s1 = parseManifest(R"({"schemaVersion":1,"name":"x","fsLayers":[]})");
  ASSERT_FALSE(s1);
  EXPECT_EQ(s1.error().code, Errc::kUnsupported);
  EXPECT_NE(s1.error().message.find("schema 1"), std::string::npos);

  const std::string cfg =
      R"("config":{"mediaType":"x","digest":"sha256:)" + kHexA + R"(","size":1})";
  for (const std::string& bad : std::vector<std::string>{
           std::string("[]"),
           std::string(R"({"schemaVersion":2})"),
           R"({"schemaVersion":2,)" + cfg + "}",
           R"({"schemaVersion":2,)" + cfg + R"(,"layers":{}})",
           R"({"schemaVersion":3,)" + cfg + R"(,"layers":[]})",
           R"({"schemaVersion":"2",)" + cfg + R"(,"layers":[]})",
           R"({"schemaVersion":2,"config":{"digest":"md5:abc","size":1},"layers":[]})",
           R"({"schemaVersion":2,"config":{"digest":"sha256:)" + kHexA +
               R"(","size":-1},"layers":[]})",
           R"({"schemaVersion":2,"mediaType":"text/html",)" + cfg + R"(,"layers":[]})",
           R"({"schemaVersion":2,)" + cfg + R"(,"layers":[{"digest":5}]})",
           std::string("<html>nope</html>"),
       }) {
    EXPECT_FALSE(parseManifest(bad)) << bad;
  }
}

TEST(Index, ParsesPlatforms) {
  std::string text =
      R"({"schemaVersion":2,"manifests":[{"mediaType":")" + std::string(kMediaTypeImageManifest) +
      R"(","digest":"sha256:)" + kHexA +
      R"(","size":5,"platform":{"architecture":"arm64","os":"linux","variant":"v8"},)" +
      R"("annotations":{"org.opencontainers.image.ref.name":"x:1"}}]})";
  auto idx = parseIndex(text);
  ASSERT_TRUE(idx) << idx.error().message;
  ASSERT_EQ(idx->manifests.size(), 1u);
  ASSERT_TRUE(idx->manifests[0].platform);
  EXPECT_EQ(idx->manifests[0].platform->variant, "v8");
  EXPECT_EQ(idx->manifests[0].annotations.at(std::string(kAnnotationRefName)), "x:1");
}

TEST(ImageConfig, DecodesDockerShapedConfig) {
  std::string text = R"({
    "architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",
    "config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Entrypoint":null,"ExposedPorts":{"80/tcp":{}},
              "Volumes":{"/data":{}},"WorkingDir":"/app","User":"app","Labels":{"a":"b"},
              "StopSignal":"SIGINT",
              "Healthcheck":{"Test":["CMD","true"],"Interval":30000000000,"Retries":3}},
    "rootfs":{"type":"layers","diff_ids":["sha256:)" +
                     kHexA + R"("]},
    "history":[{"created_by":"x","empty_layer":true},{"created_by":"y"}]})";
  auto c = parseImageConfig(text);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->config.env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_FALSE(c->config.entrypoint);
  ASSERT_TRUE(c->config.cmd);
  EXPECT_EQ(c->config.exposed_ports, std::vector<std::string>{"80/tcp"});
  ASSERT_TRUE(c->config.healthcheck);
  EXPECT_EQ(c->config.healthcheck->interval, 30000000000);
  EXPECT_EQ(c->diff_ids.size(), 1u);
  EXPECT_TRUE(c->history[0].empty_layer);
  auto again = parseImageConfig(serialize(*c));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->config, c->config);
  EXPECT_EQ(again->history, c->history);
}

TEST(ImageConfig, RejectsWrongTypes) {
  EXPECT_FALSE(parseImageConfig(R"({"architecture":"amd64","os":"linux"})"));  // no rootfs
  EXPECT_FALSE(parseImageConfig(R"({"rootfs":{"type":"layers","diff_ids":["nope"]}})"));
  EXPECT_FALSE(parseImageConfig(R"({"config":{"Env":"PATH=/"},"rootfs":{"type":"layers"}})"));
  EXPECT_FALSE(parseImageConfig(R"({"config":{"Cmd":[1]},"rootfs":{"type":"layers"}})"));
  EXPECT_FALSE(parseImageConfig(R"({"history":{},"rootfs":{"type":"layers"}})"));
}

TEST(Timestamp, FormatsLikeGo) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatTimestamp(1700000000, 500000000), "2023-11-14T22:13:20.5Z");
}

TEST(Platform, HostIsLinux) {
  Platform p = hostPlatform();
  EXPECT_EQ(p.os, "linux");
  EXPECT_FALSE(p.architecture.empty());
}

}  // namespace
}  // namespace hull::oci
