#include <string>

#include <gtest/gtest.h>

#include "store/store.h"

namespace hull::store {
namespace {

struct Good {
  std::string in;
  std::string out;
};

TEST(NormalizeName, AcceptsDockerReferences) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  const std::vector<Good> cases = {
      {"busybox", "busybox:latest"},
      {"busybox:1.36", "busybox:1.36"},
      {"docker.io/library/busybox", "busybox:latest"},
      {"index.docker.io/library/busybox:musl", "busybox:musl"},
      {"library/busybox", "busybox:latest"},
      {"docker.io/busybox", "busybox:latest"},
      {"docker.io/foo/bar:1", "foo/bar:1"},
      {"docker.io/library/foo/bar", "library/foo/bar:latest"},
      {"localhost:5000/x", "localhost:5000/x:latest"},
      {"localhost/x:v1", "localhost/x:v1"},
      {"localhost:5000/ml/serve:v1", "localhost:5000/ml/serve:v1"},
      {"registry.example.com/a/b/c:Tag_1.0-rc", "registry.example.com/a/b/c:Tag_1.0-rc"},
      {"Registry.Example.com/x", "Registry.Example.com/x:latest"},
      {"[::1]:5000/x", "[::1]:5000/x:latest"},
      {"my-app_v2/a__b.c---d", "my-app_v2/a__b.c---d:latest"},
      {"busybox@" + digest, "busybox@" + digest},
      {"busybox:1@" + digest, "busybox:1@" + digest},
      {"docker.io/library/busybox@" + digest, "busybox@" + digest},
      {"abcd", "abcd:latest"},
      {"a:" + std::string(128, 't'), "a:" + std::string(128, 't')},
  };
  for (const auto& c : cases) {
    auto got = normalizeName(c.in);
    ASSERT_TRUE(got) << c.in << ": " << got.error().message;
    EXPECT_EQ(*got, c.out) << c.in;
  }
}

TEST(NormalizeName, RejectsUppercaseRepository) {
  for (const char* in : {"Busybox", "docker.io/library/BusyBox", "localhost:5000/ML/serve"}) {
    auto got = normalizeName(in);
    ASSERT_FALSE(got) << in;
    EXPECT_EQ(got.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(got.error().message, "invalid reference format: repository name must be lowercase");
  }
}

TEST(NormalizeName, RejectsHostileInput) {
  const std::vector<std::string> cases = {
      "",
      " ",
      "busy box",
      " busybox",
      "busybox ",
      std::string(300, 'a'),
      "a//b",
      "a/",
      "/a",
      "-a",
      "a-",
      "a.",
      "a___b",
      ":tag",
      "a:b:c",
      "busybox:",
      "busybox:-tag",
      "busybox:" + std::string(129, 't'),
      "busybox@",
      "busybox@sha256:abc",
      "busybox@md5:" + std::string(32, 'a'),
      "busybox@sha256:" + std::string(64, 'A'),
      std::string(64, 'a'),
      "b\xc3\xbc"
      "sybox",
      "\xe2\x98\x83",
      "busybox\n",
      std::string("busy\0box", 8),
      "localhost:port/x",
      "localhost:123456/x",
      "-host.com/x",
      "[zz]/x",
      "a@b@c",
      "..",
      "a/../b",
  };
  for (const auto& in : cases) {
    auto got = normalizeName(in);
    ASSERT_FALSE(got) << "accepted \"" << in << "\" as " << *got;
    EXPECT_EQ(got.error().code, Errc::kInvalidArgument) << in;
    EXPECT_TRUE(got.error().message.starts_with("invalid reference format")) << got.error().message;
    EXPECT_LT(got.error().message.size(), 200u) << "error messages stay one short line";
    EXPECT_EQ(got.error().message.find('\n'), std::string::npos);
  }
}

TEST(NormalizeName, LimitsNameLength) {
  std::string name = std::string(120, 'a') + "/" + std::string(134, 'b');  // 255 characters
  ASSERT_TRUE(normalizeName(name));
  auto too_long = normalizeName(name + "b");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("255"), std::string::npos);
}

}  // namespace
}  // namespace hull::store
