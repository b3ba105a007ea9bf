// RUN --device (BuildKit's CDI devices): the value's syntax, and the errors for broken values.
#include <gtest/gtest.h>

#include "dockerfile/dockerfile.h"
#include "dockerfile/instructions.h"

namespace hull::dockerfile {
namespace {

RunDevice ok(std::string_view spec) {
  auto d = parseRunDevice(spec);
  EXPECT_TRUE(d) << spec << ": " << d.error().message;
  return d ? *d : RunDevice{};
}

std::string err(std::string_view spec) {
  auto d = parseRunDevice(spec);
  EXPECT_FALSE(d) << spec;
  return d ? std::string() : d.error().message;
}

TEST(RunDevice, Forms) {
  EXPECT_EQ(ok("nvidia.com/gpu=all"), (RunDevice{"nvidia.com/gpu=all", false}));
  EXPECT_EQ(ok("nvidia.com/gpu=0,required"), (RunDevice{"nvidia.com/gpu=0", true}));
  EXPECT_EQ(ok("nvidia.com/gpu=0,required=true"), (RunDevice{"nvidia.com/gpu=0", true}));
  EXPECT_EQ(ok("nvidia.com/gpu=0,REQUIRED=False"), (RunDevice{"nvidia.com/gpu=0", false}));
  EXPECT_EQ(ok("name=vendor1.com/device=foo"), (RunDevice{"vendor1.com/device=foo", false}));
  EXPECT_EQ(ok("required,name=vendor1.com/device=foo"),
            (RunDevice{"vendor1.com/device=foo", true}));
  EXPECT_EQ(ok("\"vendor.com/c=a,b\""), (RunDevice{"vendor.com/c=a,b", false}));
}

TEST(RunDevice, BrokenValues) {
  EXPECT_EQ(err(""), "invalid device name \"\": empty (want vendor.com/class=name)");
  EXPECT_EQ(err("required"), "invalid device name \"\": empty (want vendor.com/class=name)");
  EXPECT_EQ(err("name="), "invalid device name \"\": empty (want vendor.com/class=name)");
  EXPECT_EQ(err("gpu"),
            "invalid device name \"gpu\": unqualified device, missing kind (want "
            "vendor.com/class=name)");
  EXPECT_EQ(err("gpu=0"),
            "invalid device name \"gpu=0\": unqualified device, missing vendor (want "
            "vendor.com/class=name)");
  EXPECT_EQ(err("/gpu=0"),
            "invalid device name \"/gpu=0\": unqualified device, missing vendor (want "
            "vendor.com/class=name)");
  EXPECT_EQ(err("nvidia.com/=0"),
            "invalid device name \"nvidia.com/=0\": invalid device class (want "
            "vendor.com/class=name)");
  EXPECT_EQ(err("a/b/c=0"),
            "invalid device name \"a/b/c=0\": invalid device class (want vendor.com/class=name)");
  EXPECT_EQ(err("nvidia.com/gpu="),
            "invalid device name \"nvidia.com/gpu=\": missing device name (want "
            "vendor.com/class=name)");
  EXPECT_EQ(err("nvidia.com/gpu=0,required=maybe"), "invalid value for required: maybe");
  EXPECT_EQ(err("nvidia.com/gpu=0,required="), "invalid value for required: ");
  EXPECT_EQ(err("nvidia.com/gpu=0,name=nvidia.com/gpu=1"),
            "device name already set to nvidia.com/gpu=0");
  EXPECT_EQ(err("nvidia.com/gpu=0,optional"), "invalid field 'optional' must be a key=value pair");
  EXPECT_EQ(err("nvidia.com/gpu=0,requird=true"),
            "unexpected key 'requird' in 'requird=true' (did you mean required?)");
  EXPECT_EQ(err("\"nvidia.com/gpu=0"),
            "failed to parse csv devices: extraneous or missing \" in quoted-field");
}

TEST(RunDevice, InADockerfile) {
  auto df = parse("FROM a\nRUN --device=nvidia.com/gpu=all --device=x.com/y=z,required true\n");
  ASSERT_TRUE(df) << df.error().message;
  const auto& run = std::get<::hull::dockerfile::Run>(df->stages[0].instructions[0].body);
  EXPECT_EQ(run.devices,
            (std::vector<RunDevice>{{"nvidia.com/gpu=all", false}, {"x.com/y=z", true}}));
}

TEST(RunDevice, ErrorsNameTheLine) {
  auto df = parse("FROM a\nRUN --device= true\n");
  ASSERT_FALSE(df);
  EXPECT_EQ(df.error().message,
            "Dockerfile:2: invalid device name \"\": empty (want vendor.com/class=name)");
  df = parse("FROM a\nRUN --device=nvidia.com/gpu=0,required=yes true\n");
  ASSERT_FALSE(df);
  EXPECT_EQ(df.error().message, "Dockerfile:2: invalid value for required: yes");
}

}  // namespace
}  // namespace hull::dockerfile
