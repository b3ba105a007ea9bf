#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry/reference.h"

namespace hull::registry {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

struct Case {
  std::string in;
  std::string domain;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string familiar;
};

TEST(ParseReference, SplitsAndNormalizes) {
  const std::vector<Case> cases = {
      {"busybox", "docker.io", "library/busybox", "latest", "", "busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", "busybox:1.36"},
      {"library/busybox", "docker.io", "library/busybox", "latest", "", "busybox:latest"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", "", "busybox:latest"},
      {"index.docker.io/busybox:musl", "docker.io", "library/busybox", "musl", "", "busybox:musl"},
      {"registry-1.docker.io/foo/bar", "docker.io", "foo/bar", "latest", "", "foo/bar:latest"},
      {"foo/bar", "docker.io", "foo/bar", "latest", "", "foo/bar:latest"},
      {"docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", "",
       "library/foo/bar:latest"},
      {"localhost/x", "localhost", "x", "latest", "", "localhost/x:latest"},
      {"localhost:5000/ml/serve:v1", "localhost:5000", "ml/serve", "v1", "",
       "localhost:5000/ml/serve:v1"},
      {"127.0.0.1:5000/x:1", "127.0.0.1:5000", "x", "1", "", "127.0.0.1:5000/x:1"},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", "", "[::1]:5000/x:latest"},
      {"registry.example.com/a/b/c:Tag_1.0-rc", "registry.example.com", "a/b/c", "Tag_1.0-rc", "",
       "registry.example.com/a/b/c:Tag_1.0-rc"},
      {"Registry.Example.com/x", "Registry.Example.com", "x", "latest", "",
       "Registry.Example.com/x:latest"},
      {"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest, "busybox@" + kDigest},
      {"localhost:5000/x:v1@" + kDigest, "localhost:5000", "x", "v1", kDigest,
       "localhost:5000/x:v1@" + kDigest},
      {"my-app_v2/a__b.c---d", "docker.io", "my-app_v2/a__b.c---d", "latest", "",
       "my-app_v2/a__b.c---d:latest"},
  };
  for (const auto& c : cases) {
    auto r = parseReference(c.in);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(r->domain, c.domain) << c.in;
    EXPECT_EQ(r->repository, c.repository) << c.in;
    EXPECT_EQ(r->tag, c.tag) << c.in;
    EXPECT_EQ(r->digest ? r->digest->str() : "", c.digest) << c.in;
    EXPECT_EQ(r->familiar(), c.familiar) << c.in;
  }
}

TEST(ParseReference, FullFormsAndHosts) {
  auto r = parseReference("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(r->name(), "docker.io/library/busybox");
  EXPECT_EQ(r->host(), "registry-1.docker.io");
  EXPECT_EQ(r->identifier(), "latest");
  r = parseReference("localhost:5000/x@" + kDigest);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host(), "localhost:5000");
  EXPECT_EQ(r->identifier(), kDigest);
  EXPECT_EQ(r->familiarRepository(), "localhost:5000/x");
}

TEST(ParseReference, RejectsMalformed) {
  const std::vector<std::string> bad = {
      "",
      ":",
      ":tag",
      "Busybox",
      "busybox:",
      "busybox:-tag",
      "busybox:" + std::string(129, 't'),
      "bus__y_box/..x",
      "a/b/",
      "/a",
      "a//b",
      "-a",
      "a-",
      "UPPER/lower",  // "UPPER" is a domain, fine, but ...
      "busybox@sha256:abc",
      "busybox@sha256:" + std::string(64, 'A'),
      "busybox@md5:" + std::string(32, 'a'),
      std::string(64, 'a'),
      "localhost:port/x",
      "host:123456/x",
      "a b",
      "a\n",
      std::string(256, 'a'),
      "x:1@",
      "[::1/x",
  };
  for (const auto& in : bad) {
    if (in == "UPPER/lower") continue;  // a valid domain: see below
    auto r = parseReference(in);
    EXPECT_FALSE(r) << in;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << in;
    }
  }
  EXPECT_TRUE(parseReference("UPPER/lower"));
  EXPECT_TRUE(parseReference(std::string(255, 'a')));
}

TEST(Domains, Loopback) {
  EXPECT_TRUE(isLoopbackDomain("localhost"));
  EXPECT_TRUE(isLoopbackDomain("localhost:5000"));
  EXPECT_TRUE(isLoopbackDomain("127.0.0.1:5000"));
  EXPECT_TRUE(isLoopbackDomain("[::1]:5000"));
  EXPECT_FALSE(isLoopbackDomain("docker.io"));
  EXPECT_FALSE(isLoopbackDomain("localhost.example.com"));
  EXPECT_FALSE(isLoopbackDomain("10.0.0.1:5000"));
  EXPECT_EQ(normalizeDomain("index.docker.io"), "docker.io");
  EXPECT_EQ(normalizeDomain("quay.io"), "quay.io");
}

}  // namespace
}  // namespace hull::registry
