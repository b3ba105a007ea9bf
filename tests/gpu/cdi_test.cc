#include "gpu/cdi.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/fs.h"

namespace hull::gpu {
namespace {

namespace stdfs = std::filesystem;

const std::string kData = std::string(HULL_TESTDATA) + "/cdi";

std::string readData(const std::string& rel) {
  Result<std::string> text = readFile(kData + "/" + rel);
  EXPECT_TRUE(text) << rel;
  return text ? *text : std::string();
}

// Compares with a golden file; HULL_UPDATE_GOLDEN=1 rewrites it instead.
void expectGolden(const std::string& rel, const std::string& actual) {
  if (std::getenv("HULL_UPDATE_GOLDEN")) {
    std::ofstream(kData + "/" + rel) << actual;
    return;
  }
  EXPECT_EQ(actual, readData(rel)) << "golden " << rel << " (HULL_UPDATE_GOLDEN=1 rewrites it)";
}

CdiSpec parseOk(std::string_view text, std::string_view file = "test.yaml") {
  Result<CdiSpec> spec = parseCdiSpec(text, file);
  EXPECT_TRUE(spec) << spec.error().message;
  return spec ? *spec : CdiSpec{};
}

// Parsing what we wrote gives the same spec back.
void expectRoundTrip(const CdiSpec& spec) {
  CdiSpec from_json = parseOk(cdiSpecToJson(spec), "rt.json");
  CdiSpec from_yaml = parseOk(cdiSpecToYaml(spec), "rt.yaml");
  from_json.file = from_yaml.file = spec.file;
  EXPECT_EQ(from_json, spec) << cdiSpecToJson(spec);
  EXPECT_EQ(from_yaml, spec) << cdiSpecToYaml(spec);
}

TEST(CdiParse, JsonGolden) {
  CdiSpec spec = parseOk(readData("golden/nvidia.json"), "nvidia.json");
  EXPECT_EQ(spec.file, "nvidia.json");
  ASSERT_EQ(spec.devices.size(), 3u);
  EXPECT_EQ(spec.devices[1].name, "GPU-8836a272-ca08-9629-24b6-54ca9b98cd30");
  ASSERT_EQ(spec.edits.device_nodes.size(), 2u);
  EXPECT_EQ(spec.edits.device_nodes[1].major, 508);
  EXPECT_FALSE(spec.edits.device_nodes[0].major.has_value());
  ASSERT_EQ(spec.edits.hooks.size(), 1u);
  EXPECT_EQ(spec.edits.hooks[0].timeout, 10);
  expectGolden("golden/nvidia.out.json", cdiSpecToJson(spec));
  expectRoundTrip(spec);
}

TEST(CdiParse, YamlGolden) {
  CdiSpec spec = parseOk(readData("golden/vendor.yaml"), "vendor.yaml");
  EXPECT_EQ(spec.version, "0.7.0");
  EXPECT_EQ(spec.kind, "example.com/fpga.accel");
  EXPECT_EQ(spec.annotations.at("example.com/owner"), "lab");
  ASSERT_EQ(spec.devices.size(), 2u);
  const CdiDeviceNode& card0 = spec.devices[0].edits.device_nodes.at(0);
  EXPECT_EQ(card0.file_mode, 0660u);  // YAML 1.1 octal, as Go's readers take it
  EXPECT_EQ(card0.uid, 1000u);
  EXPECT_EQ(spec.devices[0].edits.additional_gids, (std::vector<uint32_t>{44, 0}));
  EXPECT_EQ(spec.devices[1].name, "1");
  EXPECT_EQ(spec.edits.env, (std::vector<std::string>{"FPGA_RUNTIME=/opt/fpga", "EMPTY="}));
  EXPECT_EQ(spec.edits.mounts.at(1).type, "tmpfs");
  expectGolden("golden/vendor.out.yaml", cdiSpecToYaml(spec));
  expectRoundTrip(spec);
}

TEST(CdiParse, EmittedYamlQuotesWhatLooksLikeNumbers) {
  CdiSpec spec = parseOk(readData("golden/nvidia.json"), "nvidia.json");
  std::string yaml = cdiSpecToYaml(spec);
  EXPECT_NE(yaml.find("name: \"0\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("cdiVersion: \"0.5.0\""), std::string::npos) << yaml;
}

TEST(CdiParse, MinimumVersion) {
  CdiSpec spec;
  spec.kind = "vendor.com/dev";
  spec.devices.push_back(CdiDevice{"a", {}, {}});
  EXPECT_EQ(minimumCdiVersion(spec), "0.3.0");
  spec.edits.mounts.push_back(CdiMount{"/a", "/a", "bind", {}});
  EXPECT_EQ(minimumCdiVersion(spec), "0.4.0");
  spec.devices[0].name = "0";
  EXPECT_EQ(minimumCdiVersion(spec), "0.5.0");
  spec.kind = "vendor.com/dev.x";
  EXPECT_EQ(minimumCdiVersion(spec), "0.6.0");
  spec.devices[0].edits.additional_gids = {5};
  EXPECT_EQ(minimumCdiVersion(spec), "0.7.0");
}

TEST(CdiParse, AcceptsEveryKnownVersion) {
  for (const char* v : {"0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0"}) {
    std::string text = std::string("cdiVersion: \"") + v +
                       "\"\nkind: vendor.com/dev\ndevices:\n- name: a\n  containerEdits:\n"
                       "    env: [A=1]\n";
    EXPECT_TRUE(parseCdiSpec(text, "v.yaml")) << v;
  }
}

TEST(CdiParse, YamlNumbersAsNamesStayStrings) {
  CdiSpec spec = parseOk(
      "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: 0\n  containerEdits:\n"
      "    deviceNodes: [{path: /dev/nvidia0, major: 0x10, minor: 3}]\n");
  EXPECT_EQ(spec.devices.at(0).name, "0");
  EXPECT_EQ(spec.devices[0].edits.device_nodes.at(0).major, 16);
}

TEST(CdiParse, NullFieldsAreAbsent) {
  CdiSpec spec = parseOk(
      "cdiVersion: 0.3.0\nkind: vendor.com/dev\nannotations: ~\ncontainerEdits:\n"
      "devices:\n- name: a\n  containerEdits: {env: [A=1], mounts: null}\n");
  EXPECT_TRUE(spec.annotations.empty());
  EXPECT_TRUE(spec.devices.at(0).edits.mounts.empty());
}

struct BrokenCase {
  const char* file;
  const char* error;
};

class CdiBroken : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(CdiBroken, ExactError) {
  const BrokenCase& c = GetParam();
  Result<CdiSpec> spec = parseCdiSpec(readData(std::string("broken/") + c.file), c.file);
  ASSERT_FALSE(spec) << c.file;
  EXPECT_EQ(spec.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(spec.error().message, c.error);
  EXPECT_EQ(spec.error().message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Files, CdiBroken,
    ::testing::Values(
        BrokenCase{"bad-version.yaml",
                   "bad-version.yaml: cdiVersion: unknown version \"0.2.0\" (known: 0.3.0, 0.4.0, "
                   "0.5.0, 0.6.0, 0.7.0, 0.8.0, 1.0.0, 1.1.0)"},
        BrokenCase{"no-version.json", "no-version.json: cdiVersion: missing"},
        BrokenCase{"too-old.yaml",
                   "too-old.yaml: cdiVersion: 0.4.0 is too old for the fields this spec uses "
                   "(needs 0.5.0 or later)"},
        BrokenCase{"annotations-old.yaml",
                   "annotations-old.yaml: cdiVersion: 0.5.0 is too old for the fields this spec "
                   "uses (needs 0.6.0 or later)"},
        BrokenCase{"kind-no-class.yaml",
                   "kind-no-class.yaml: kind: \"nvidia.com\" is not vendor/class (like "
                   "vendor.com/device)"},
        BrokenCase{"kind-bad-vendor.json",
                   "kind-bad-vendor.json: kind: invalid vendor \"1vendor.com\": must start with a "
                   "letter"},
        BrokenCase{"no-devices.yaml", "no-devices.yaml: devices: at least one device is required"},
        BrokenCase{"bad-device-name.yaml",
                   "bad-device-name.yaml: devices[0].name: invalid device name \"gpu 0\": invalid "
                   "character ' '"},
        BrokenCase{"duplicate-device.yaml",
                   "duplicate-device.yaml: devices[1].name: duplicate device \"a\""},
        BrokenCase{"relative-node.yaml",
                   "relative-node.yaml: devices[1].containerEdits.deviceNodes[0].path: must be "
                   "absolute"},
        BrokenCase{"bad-hook-name.yaml",
                   "bad-hook-name.yaml: devices[0].containerEdits.hooks[0].hookName: unknown hook "
                   "\"preStart\" (want prestart, createRuntime, createContainer, startContainer, "
                   "poststart or poststop)"},
        BrokenCase{"bad-env.json",
                   "bad-env.json: devices[0].containerEdits.env[1]: \"NOVALUE\" is not KEY=VALUE"},
        BrokenCase{"devices-not-list.json", "devices-not-list.json: devices: must be a list"},
        BrokenCase{"major-string.json",
                   "major-string.json: devices[0].containerEdits.deviceNodes[0].major: must be an "
                   "integer"},
        BrokenCase{"negative-minor.yaml",
                   "negative-minor.yaml: devices[0].containerEdits.deviceNodes[0].minor: out of "
                   "range 0..9223372036854775807"},
        BrokenCase{"bad-permissions.yaml",
                   "bad-permissions.yaml: devices[0].containerEdits.deviceNodes[0].permissions: "
                   "invalid \"rwx\" (want r, w and m, or none)"},
        BrokenCase{"empty-edits.yaml",
                   "empty-edits.yaml: devices[0].containerEdits: must not be empty"},
        BrokenCase{"zero-timeout.yaml",
                   "zero-timeout.yaml: devices[0].containerEdits.hooks[0].timeout: must be greater "
                   "than zero"},
        BrokenCase{"relative-mount.yaml",
                   "relative-mount.yaml: containerEdits.mounts[0].containerPath: must be absolute"},
        BrokenCase{"not-a-mapping.yaml",
                   "not-a-mapping.yaml: not a CDI spec: the document must be a mapping"},
        BrokenCase{"duplicate-key.yaml",
                   "duplicate-key.yaml: invalid YAML: duplicate key \"kind\""},
        BrokenCase{"net-devices.yaml",
                   "net-devices.yaml: devices[0].containerEdits.netDevices: not supported by hull"},
        BrokenCase{"gid-too-big.yaml",
                   "gid-too-big.yaml: devices[0].containerEdits.additionalGids[0]: out of range "
                   "0..4294967295"},
        BrokenCase{"truncated.json",
                   "truncated.json: invalid JSON at line 2, column 1: syntax error while parsing "
                   "value - unexpected end of input; expected '[', '{', or a literal"},
        BrokenCase{"bad-yaml.yaml",
                   "bad-yaml.yaml: invalid YAML at line 3: end of sequence flow not found"}),
    [](const ::testing::TestParamInfo<BrokenCase>& info) {
      std::string name;
      for (char c : std::string(info.param.file)) name += std::isalnum(c) ? c : '_';
      return name;
    });

TEST(CdiParse, HostileInput) {
  std::string deep_json = std::string(100, '[') + std::string(100, ']');
  deep_json = "{\"devices\": " + deep_json + "}";
  Result<CdiSpec> r = parseCdiSpec(deep_json, "deep.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "deep.json: invalid JSON: nested deeper than 64 levels");

  std::string deep_yaml = "devices: " + std::string(100, '[') + std::string(100, ']') + "\n";
  r = parseCdiSpec(deep_yaml, "deep.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "deep.yaml: invalid YAML: nested deeper than 64 levels");

  std::string huge(5u << 20, ' ');
  r = parseCdiSpec(huge, "huge.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "huge.yaml: larger than 4 MiB");

  // Aliases that expand to 2^30 nodes.
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    laughs += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
              prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
              ", *" + prev + "]\n";
  }
  r = parseCdiSpec(laughs, "laughs.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "laughs.yaml: invalid YAML: more than 1048576 nodes");

  for (const char* text : {"", "   \n", "null", "42", "\"str\"", "{}", "[]", "{\"kind\": 5}",
                           "\x01\x02\xff", "{\"cdiVersion\": [\"0.3.0\"]}", "cdiVersion: {a: b}"}) {
    EXPECT_FALSE(parseCdiSpec(text, "x")) << text;
  }
}

TEST(CdiNames, QualifiedNames) {
  EXPECT_TRUE(isCdiDeviceName("nvidia.com/gpu=0"));
  EXPECT_TRUE(isCdiDeviceName("nvidia.com/gpu=all"));
  EXPECT_TRUE(isCdiDeviceName("nvidia.com/gpu=GPU-8836a272-ca08-9629-24b6-54ca9b98cd30"));
  EXPECT_TRUE(isCdiDeviceName("vendor.com/class.sub=mig:1.2"));
  EXPECT_FALSE(isCdiDeviceName("/dev/nvidia0"));
  EXPECT_FALSE(isCdiDeviceName("/dev/sda:/dev/xvda:rwm"));
  EXPECT_FALSE(isCdiDeviceName("nvidia.com/gpu"));
  EXPECT_FALSE(isCdiDeviceName("nvidia.com/gpu="));
  EXPECT_FALSE(isCdiDeviceName("nvidia.com=0"));
  EXPECT_FALSE(isCdiDeviceName("nvidia.com/gpu/x=0"));
  EXPECT_FALSE(isCdiDeviceName("nvidia.com/gpu=a b"));
  EXPECT_FALSE(isCdiDeviceName("nvidia.com/gpu=0-"));
  EXPECT_FALSE(isCdiDeviceName("=0"));
}

}  // namespace
}  // namespace hull::gpu

namespace hull::gpu {
namespace {

TEST(CdiParse, RoundTripTrickyStrings) {
  CdiSpec spec;
  spec.version = "0.6.0";
  spec.kind = "vendor.com/dev";
  spec.annotations = {{"k", "true"}, {"n", "null"}, {"e", ""}, {"q", "a \"quoted\" 'x'"}};
  CdiHook hook{"poststop",
               "/bin/x",
               {"-", "- x", "--folder", "-5", ".5", "#c", "a: b", "~"},
               {},
               std::nullopt};
  CdiEdits edits;
  edits.env = {"A=b: c", "B=#x", "C=", "D=\xc3\xa9", "E=line\nbreak"};
  edits.hooks.push_back(hook);
  spec.devices.push_back(CdiDevice{"007", {{"yes", "no"}}, edits});
  spec.file = "x";
  expectRoundTrip(spec);
}

}  // namespace
}  // namespace hull::gpu

namespace hull::gpu {
namespace {

TEST(CdiParse, UnknownVersionIsReportedFirst) {
  Result<CdiSpec> r = parseCdiSpec("cdiVersion: 9.9.9\nkind: bad\ndevices: []\n", "v.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "v.yaml: cdiVersion: unknown version \"9.9.9\" (known: 0.3.0, 0.4.0, 0.5.0, 0.6.0, "
            "0.7.0, 0.8.0, 1.0.0, 1.1.0)");
}

// Truncations and byte flips of valid specs: an error or a spec, never a crash or a hang.
TEST(CdiParse, MutatedInputs) {
  for (const char* rel : {"golden/nvidia.json", "golden/vendor.yaml"}) {
    const std::string text = readData(rel);
    for (size_t cut = 0; cut < text.size(); cut += 7) {
      (void)parseCdiSpec(text.substr(0, cut), rel);
    }
    const char flips[] = {'\0', '"', '{', '[', ':', '-', '\n', '&', '*', '!', '\xff'};
    for (size_t i = 0; i < text.size(); i += 3) {
      std::string mutated = text;
      mutated[i] = flips[i % sizeof(flips)];
      Result<CdiSpec> r = parseCdiSpec(mutated, rel);
      if (!r) {
        EXPECT_EQ(r.error().message.rfind(std::string(rel) + ": ", 0), 0u) << mutated;
      }
    }
  }
}

}  // namespace
}  // namespace hull::gpu
