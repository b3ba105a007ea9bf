// parseBuildOutput: the --output forms Docker's buildx accepts that hull supports, and bad ones.
#include <gtest/gtest.h>

#include "engine/build.h"

namespace hull::engine {
namespace {

BuildOutput parsed(std::string_view spec) {
  auto r = parseBuildOutput(spec);
  EXPECT_TRUE(r.has_value()) << spec << ": " << (r ? "" : r.error().message);
  return r ? *r : BuildOutput{};
}

std::string errorOf(std::string_view spec) {
  auto r = parseBuildOutput(spec);
  EXPECT_FALSE(r.has_value()) << spec;
  if (r) return "";
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << spec;
  return r.error().message;
}

TEST(BuildOutput, Archives) {
  BuildOutput oci = parsed("type=oci,dest=out.tar");
  EXPECT_EQ(oci.type, "oci");
  EXPECT_EQ(oci.dest, "out.tar");
  BuildOutput docker = parsed("dest=-,type=docker");
  EXPECT_EQ(docker.type, "docker");
  EXPECT_EQ(docker.dest, "-");
}

TEST(BuildOutput, LocalForms) {
  EXPECT_EQ(parsed("type=local,dest=dir").type, "local");
  EXPECT_EQ(parsed("type=local,dest=dir").dest, "dir");
  BuildOutput bare = parsed("some/dir");
  EXPECT_EQ(bare.type, "local");
  EXPECT_EQ(bare.dest, "some/dir");
  EXPECT_EQ(parsed("dest=out").type, "local");  // no type: local, as buildx has it
}

TEST(BuildOutput, Image) {
  BuildOutput image = parsed("type=image");
  EXPECT_EQ(image.type, "image");
  EXPECT_TRUE(image.dest.empty());
}

TEST(BuildOutput, BadInput) {
  EXPECT_NE(errorOf("").find("empty"), std::string::npos);
  EXPECT_NE(errorOf("type=tar,dest=x").find("unknown type \"tar\""), std::string::npos);
  EXPECT_NE(errorOf("type=oci").find("needs dest=PATH"), std::string::npos);
  EXPECT_NE(errorOf("type=local,dest=").find("needs dest=PATH"), std::string::npos);
  EXPECT_NE(errorOf("type=oci,dest=x,push=true").find("unknown attribute \"push\""),
            std::string::npos);
  EXPECT_NE(errorOf("type=oci,dest").find("not KEY=VALUE"), std::string::npos);
  EXPECT_NE(errorOf("type=image,dest=x").find("no dest"), std::string::npos);
  EXPECT_NE(errorOf("-").find("type=oci,dest=-"), std::string::npos);
}

}  // namespace
}  // namespace hull::engine
