#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "oci/media_types.h"
#include "registry/policy.h"

namespace hull::registry {
namespace {

using std::chrono::milliseconds;

TEST(ClassifyManifest, MediaTypes) {
  struct Case {
    std::string content_type;
    std::string body;
    ManifestKind kind;
    std::string media_type;
  };
  const std::string oci_m = std::string(oci::kMediaTypeImageManifest);
  const std::string oci_i = std::string(oci::kMediaTypeImageIndex);
  const std::vector<Case> cases = {
      {oci_m, R"({"schemaVersion":2,"mediaType":")" + oci_m + R"("})", ManifestKind::kManifest,
       oci_m},
      {oci_m + "; charset=utf-8", R"({"schemaVersion":2,"layers":[]})", ManifestKind::kManifest,
       oci_m},
      {"application/json", R"({"schemaVersion":2,"manifests":[]})", ManifestKind::kIndex, oci_i},
      {"", R"({"schemaVersion":2,"config":{}})", ManifestKind::kManifest, oci_m},
      {std::string(oci::kDockerManifestList),
       R"({"schemaVersion":2,"mediaType":")" + std::string(oci::kDockerManifestList) + R"("})",
       ManifestKind::kIndex, std::string(oci::kDockerManifestList)},
      {std::string(oci::kDockerManifest), R"({"schemaVersion":2})", ManifestKind::kManifest,
       std::string(oci::kDockerManifest)},
  };
  for (const auto& c : cases) {
    auto r = classifyManifest(c.content_type, c.body);
    ASSERT_TRUE(r) << c.body << ": " << r.error().message;
    EXPECT_EQ(r->kind, c.kind) << c.body;
    EXPECT_EQ(r->media_type, c.media_type) << c.body;
  }
}

TEST(ClassifyManifest, Refusals) {
  auto s1 = classifyManifest(oci::kDockerSchema1Signed, R"({"schemaVersion":1})");
  ASSERT_FALSE(s1);
  EXPECT_EQ(s1.error().code, Errc::kUnsupported);
  EXPECT_NE(s1.error().message.find("schema 1"), std::string::npos);
  EXPECT_FALSE(classifyManifest("application/json", R"({"schemaVersion":1,"fsLayers":[]})"));
  auto odd = classifyManifest("application/vnd.example.thing+json", R"({"schemaVersion":2})");
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code, Errc::kUnsupported);
  EXPECT_FALSE(classifyManifest(oci::kMediaTypeImageManifest, "not json"));
  EXPECT_FALSE(classifyManifest(oci::kMediaTypeImageManifest, "[1,2]"));
}

TEST(DescribeHttpError, RegistryErrorJson) {
  EXPECT_EQ(describeHttpError(404, "application/json",
                              R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest )"
                              R"(unknown","detail":{"Tag":"nope"}}]})"),
            "manifest_unknown: manifest unknown (HTTP 404)");
  EXPECT_EQ(describeHttpError(401, "application/json",
                              R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication )"
                              R"(required"},{"code":"DENIED","message":"no"}]})"),
            "unauthorized: authentication required; denied: no (HTTP 401)");
  EXPECT_EQ(describeHttpError(429, "", R"({"errors":[{"code":"TOOMANYREQUESTS"}]})"),
            "toomanyrequests (HTTP 429)");
  EXPECT_EQ(describeHttpError(403, "text/plain", "go away"), "denied: access forbidden (HTTP 403)");
  EXPECT_EQ(describeHttpError(418, "", ""), "unexpected status (HTTP 418)");
}

TEST(DescribeHttpError, HtmlAndHostileBodies) {
  std::string html = describeHttpError(200, "text/html; charset=utf-8", "<html>hi</html>");
  EXPECT_NE(html.find("HTML"), std::string::npos);
  EXPECT_NE(describeHttpError(502, "", "\n <!DOCTYPE html><p>").find("HTML"), std::string::npos);
  std::string long_msg(5000, 'x');
  std::string out = describeHttpError(
      400, "", R"({"errors":[{"code":"X","message":")" + long_msg + "\\n\\u0007y\"}]}");
  EXPECT_LT(out.size(), 400u);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(describeHttpError(500, "", R"({"errors":"nope"})"), "internal server error (HTTP 500)");
}

TEST(RetryDelay, Policy) {
  EXPECT_EQ(retryDelay(1, 3, 503, std::nullopt), milliseconds(200));
  EXPECT_EQ(retryDelay(2, 3, 0, std::nullopt), milliseconds(400));
  EXPECT_EQ(retryDelay(3, 3, 503, std::nullopt), std::nullopt);
  EXPECT_EQ(retryDelay(1, 3, 429, 2L), milliseconds(2000));
  EXPECT_EQ(retryDelay(1, 3, 429, 3600L), kMaxRetryDelay);
  EXPECT_EQ(retryDelay(1, 3, 404, std::nullopt), std::nullopt);
  EXPECT_EQ(retryDelay(1, 3, 401, std::nullopt), std::nullopt);
  EXPECT_EQ(retryDelay(1, 3, 501, std::nullopt), std::nullopt);
  EXPECT_EQ(retryDelay(1, 3, 200, std::nullopt), std::nullopt);
  EXPECT_EQ(retryDelay(1, 20, 500, std::nullopt), milliseconds(200));
  EXPECT_EQ(retryDelay(15, 20, 500, std::nullopt), kMaxRetryDelay);
}

TEST(RetryAfter, Parse) {
  EXPECT_EQ(parseRetryAfter("5"), 5L);
  EXPECT_EQ(parseRetryAfter(" 12 "), 12L);
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(parseRetryAfter(""), std::nullopt);
  EXPECT_EQ(parseRetryAfter("-3"), std::nullopt);
  EXPECT_EQ(parseRetryAfter("99999999999999999999999"), std::nullopt);
}

oci::Descriptor entry(std::string os, std::string arch, std::string variant, char fill) {
  oci::Descriptor d;
  d.media_type = std::string(oci::kMediaTypeImageManifest);
  d.digest = Digest::fromSha256Hex(std::string(64, fill));
  d.platform = oci::Platform{.architecture = std::move(arch),
                             .os = std::move(os),
                             .variant = std::move(variant),
                             .os_version = {},
                             .os_features = {}};
  return d;
}

oci::Platform platform(std::string os, std::string arch, std::string variant = "") {
  return {.architecture = std::move(arch),
          .os = std::move(os),
          .variant = std::move(variant),
          .os_version = {},
          .os_features = {}};
}

TEST(SelectPlatform, Rules) {
  oci::Index index;
  index.manifests = {entry("unknown", "unknown", "", '0'), entry("linux", "arm", "v5", '1'),
                     entry("linux", "arm", "v7", '2'),     entry("linux", "arm", "v6", '3'),
                     entry("linux", "arm64", "v8", '4'),   entry("linux", "amd64", "", '5'),
                     entry("windows", "amd64", "", '6')};
  auto pick = [&](oci::Platform p) {
    auto r = selectPlatform(index, p);
    return r ? r->digest.hex().substr(0, 1) : "!" + r.error().message;
  };
  EXPECT_EQ(pick(platform("linux", "amd64")), "5");
  EXPECT_EQ(pick(platform("windows", "amd64")), "6");
  EXPECT_EQ(pick(platform("linux", "arm")), "2");
  EXPECT_EQ(pick(platform("linux", "arm", "v6")), "3");
  EXPECT_EQ(pick(platform("linux", "arm", "v5")), "1");
  EXPECT_EQ(pick(platform("linux", "arm64")), "4");
  EXPECT_EQ(pick(platform("linux", "arm64", "v8")), "4");
  std::string miss = pick(platform("linux", "s390x"));
  EXPECT_EQ(miss.front(), '!');
  EXPECT_NE(miss.find("linux/s390x"), std::string::npos);
  EXPECT_NE(miss.find("linux/arm/v7"), std::string::npos);
  EXPECT_EQ(pick(platform("linux", "amd64", "v3")).front(), '!');

  oci::Index bare;  // arm64 listed without a variant still answers arm64/v8
  bare.manifests = {entry("linux", "arm64", "", '7')};
  auto r = selectPlatform(bare, platform("linux", "arm64", "v8"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->digest.hex()[0], '7');
  EXPECT_EQ(platformString(platform("linux", "arm", "v7")), "linux/arm/v7");
}

}  // namespace
}  // namespace hull::registry
