// Loading spec directories, resolving device names to a SpecEdit, and generating the NVIDIA
// spec from a hand-built driver.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gpu/cdi.h"
#include "gpu/inject.h"

namespace hull::gpu {
namespace {

namespace stdfs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (stdfs::temp_directory_path() / "hull-cdi-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { stdfs::remove_all(path_); }
  std::string path() const { return path_; }
  std::string write(const std::string& rel, const std::string& text) const {
    stdfs::path p = stdfs::path(path_) / rel;
    stdfs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::string path_;
};

// A stat that knows a few fake nodes, so no test depends on the host's /dev.
Result<HostNode> fakeStat(const std::string& path) {
  if (path == "/dev/nvidia0" || path == "/host/dev/nvidia0") return HostNode{"c", 195, 0, 0666};
  if (path == "/dev/nvidia1") return HostNode{"c", 195, 1, 0666};
  if (path == "/dev/nvidiactl") return HostNode{"c", 195, 255, 0666};
  if (path == "/dev/nvidia-uvm") return HostNode{"c", 508, 0, 0666};
  if (path == "/dev/fifo") return HostNode{"p", 0, 0, 0600};
  return fail(Errc::kNotFound, "stat " + path + ": No such file or directory");
}

const char* kGpuSpec = R"(cdiVersion: 0.7.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
      hostPath: /host/dev/nvidia0
- name: "1"
  containerEdits:
    deviceNodes: [{path: /dev/nvidia1}]
    env: [GPU1=yes]
- name: all
  containerEdits:
    deviceNodes: [{path: /dev/nvidia0, hostPath: /host/dev/nvidia0}, {path: /dev/nvidia1}]
containerEdits:
  env: [NVIDIA_VISIBLE_DEVICES=void]
  deviceNodes:
  - path: /dev/nvidiactl
  - {path: /dev/nvidia-uvm, type: c, major: 508, minor: 0, permissions: rw, fileMode: 0600}
  mounts:
  - {hostPath: /usr/lib/libcuda.so.1, containerPath: /usr/lib/libcuda.so.1, options: [ro, bind]}
  - {hostPath: tmpfs, containerPath: /scratch, type: tmpfs}
  hooks:
  - {hookName: createContainer, path: /usr/bin/hull, args: [hull, gpu], timeout: 5}
  - {hookName: poststop, path: /usr/bin/cleanup}
  additionalGids: [0, 44]
)";

CdiRegistry registryOf(const std::string& yaml) {
  Result<CdiSpec> spec = parseCdiSpec(yaml, "/etc/cdi/test.yaml");
  EXPECT_TRUE(spec) << spec.error().message;
  CdiRegistry reg;
  if (spec) reg.specs.push_back(*spec);
  return reg;
}

TEST(CdiResolve, ByIndexWithSpecEdits) {
  CdiRegistry reg = registryOf(kGpuSpec);
  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"nvidia.com/gpu=0"}, fakeStat);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->env, (std::vector<std::string>{"NVIDIA_VISIBLE_DEVICES=void"}));
  ASSERT_EQ(edit->devices.size(), 3u);
  // Spec-level nodes first, then the device's; numbers from the host where the spec has none.
  EXPECT_EQ(edit->devices[0], (oci::Device{"/dev/nvidiactl", "c", 195, 255, 0666u, {}, {}}));
  EXPECT_EQ(edit->devices[1], (oci::Device{"/dev/nvidia-uvm", "c", 508, 0, 0600u, {}, {}}));
  // The container path is the device's path; the numbers come from its hostPath.
  EXPECT_EQ(edit->devices[2], (oci::Device{"/dev/nvidia0", "c", 195, 0, 0666u, {}, {}}));
  ASSERT_EQ(edit->device_rules.size(), 3u);
  EXPECT_EQ(edit->device_rules[0], (oci::DeviceCgroupRule{true, "c", 195, 255, "rwm"}));
  EXPECT_EQ(edit->device_rules[1], (oci::DeviceCgroupRule{true, "c", 508, 0, "rw"}));
  ASSERT_EQ(edit->mounts.size(), 2u);
  EXPECT_EQ(edit->mounts[0],
            (oci::Mount{"/usr/lib/libcuda.so.1", "bind", "/usr/lib/libcuda.so.1", {"ro", "bind"}}));
  EXPECT_EQ(edit->mounts[1], (oci::Mount{"/scratch", "tmpfs", "tmpfs", {}}));
  ASSERT_EQ(edit->hooks.create_container.size(), 1u);
  EXPECT_EQ(edit->hooks.create_container[0], (oci::Hook{"/usr/bin/hull", {"hull", "gpu"}, {}, 5}));
  ASSERT_EQ(edit->hooks.poststop.size(), 1u);
  EXPECT_TRUE(edit->hooks.prestart.empty());
  EXPECT_EQ(edit->additional_gids, (std::vector<uint32_t>{44}));  // 0 is never added
}

TEST(CdiResolve, SpecEditsOnceForSeveralDevices) {
  CdiRegistry reg = registryOf(kGpuSpec);
  Result<oci::SpecEdit> edit = resolveCdiDevices(
      reg, {"nvidia.com/gpu=1", "nvidia.com/gpu=0", "nvidia.com/gpu=1"}, fakeStat);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->env, (std::vector<std::string>{"NVIDIA_VISIBLE_DEVICES=void", "GPU1=yes"}));
  ASSERT_EQ(edit->devices.size(), 4u);
  EXPECT_EQ(edit->devices[2].path, "/dev/nvidia1");
  EXPECT_EQ(edit->devices[3].path, "/dev/nvidia0");
  EXPECT_EQ(edit->mounts.size(), 2u);
  EXPECT_EQ(edit->hooks.create_container.size(), 1u);
}

TEST(CdiResolve, All) {
  CdiRegistry reg = registryOf(kGpuSpec);
  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"nvidia.com/gpu=all"}, fakeStat);
  ASSERT_TRUE(edit) << edit.error().message;
  ASSERT_EQ(edit->devices.size(), 4u);
  EXPECT_EQ(edit->devices[3], (oci::Device{"/dev/nvidia1", "c", 195, 1, 0666u, {}, {}}));
  EXPECT_EQ(edit->device_rules.size(), 4u);
}

TEST(CdiResolve, UnknownDeviceListsKnownNames) {
  CdiRegistry reg = registryOf(kGpuSpec);
  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"nvidia.com/gpu=3"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().code, Errc::kNotFound);
  EXPECT_EQ(edit.error().message,
            "CDI device nvidia.com/gpu=3 not found (known: nvidia.com/gpu=0, nvidia.com/gpu=1, "
            "nvidia.com/gpu=all)");

  edit = resolveCdiDevices(CdiRegistry{}, {"nvidia.com/gpu=0"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().message, "CDI device nvidia.com/gpu=0 not found (no CDI specs found)");

  edit = resolveCdiDevices(reg, {"/dev/nvidia0"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().message,
            "\"/dev/nvidia0\" is not a CDI device name (want vendor.com/class=name)");
}

TEST(CdiResolve, KnownListIsShortened) {
  std::string yaml = "cdiVersion: 0.5.0\nkind: vendor.com/dev\ndevices:\n";
  for (int i = 0; i < 12; ++i) {
    yaml += "- name: d" + std::to_string(i) + "\n  containerEdits: {env: [A=1]}\n";
  }
  Result<oci::SpecEdit> edit = resolveCdiDevices(registryOf(yaml), {"vendor.com/dev=x"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().message,
            "CDI device vendor.com/dev=x not found (known: vendor.com/dev=d0, vendor.com/dev=d1, "
            "vendor.com/dev=d10, vendor.com/dev=d11, vendor.com/dev=d2, vendor.com/dev=d3, "
            "vendor.com/dev=d4, vendor.com/dev=d5, ... (4 more))");
}

TEST(CdiResolve, MissingHostNodeAndTypeMismatch) {
  CdiRegistry reg = registryOf(
      "cdiVersion: 0.3.0\nkind: vendor.com/dev\ndevices:\n"
      "- name: gone\n  containerEdits: {deviceNodes: [{path: /dev/gone}]}\n"
      "- name: fifo\n  containerEdits: {deviceNodes: [{path: /dev/fifo}]}\n"
      "- name: wrong\n  containerEdits: {deviceNodes: [{path: /dev/fifo, type: c}]}\n");
  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"vendor.com/dev=gone"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().message,
            "CDI device node /dev/gone: stat /dev/gone: No such file or directory");
  edit = resolveCdiDevices(reg, {"vendor.com/dev=fifo"}, fakeStat);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->devices.at(0).type, "p");
  EXPECT_TRUE(edit->device_rules.empty());  // no cgroup rule for a fifo
  edit = resolveCdiDevices(reg, {"vendor.com/dev=wrong"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().message,
            "CDI device node /dev/fifo: spec says type c but /dev/fifo is type p");
}

TEST(CdiResolve, PermissionsNone) {
  CdiRegistry reg = registryOf(
      "cdiVersion: 0.3.0\nkind: vendor.com/dev\ndevices:\n- name: a\n  containerEdits:\n"
      "    deviceNodes: [{path: /dev/a, type: b, major: 8, minor: 1, permissions: none}]\n");
  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"vendor.com/dev=a"}, fakeStat);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->device_rules.at(0), (oci::DeviceCgroupRule{true, "b", 8, 1, ""}));
}

TEST(CdiStat, RealNodes) {
  Result<HostNode> null = statHostNode("/dev/null");
  ASSERT_TRUE(null) << null.error().message;
  EXPECT_EQ(null->type, "c");
  EXPECT_EQ(null->major, 1);
  EXPECT_EQ(null->minor, 3);
  EXPECT_FALSE(statHostNode("/etc/hostname"));
  EXPECT_FALSE(statHostNode("/nonexistent/node"));
}

TEST(CdiLoad, DirectoriesOrderAndErrors) {
  TempDir tmp;
  const std::string low = tmp.path() + "/etc", high = tmp.path() + "/run";
  tmp.write("etc/nvidia.yaml", kGpuSpec);
  tmp.write("etc/other.json",
            R"({"cdiVersion":"0.3.0","kind":"vendor.com/x","devices":[{"name":"a",)"
            R"("containerEdits":{"env":["FROM=etc"]}}]})");
  tmp.write("etc/notes.txt", "not a spec");
  // The later directory redefines vendor.com/x=a.
  tmp.write("run/x.yml",
            "cdiVersion: 0.3.0\nkind: vendor.com/x\ndevices:\n- name: a\n"
            "  containerEdits: {env: [FROM=run]}\n");
  const std::string broken = tmp.write("run/broken.yaml",
                                       "cdiVersion: 0.3.0\nkind: vendor.com/broken\n"
                                       "devices:\n- name: a\n  containerEdits: {env: [NOPE]}\n");

  CdiRegistry reg = loadCdiSpecs({low, tmp.path() + "/missing", high});
  ASSERT_EQ(reg.specs.size(), 3u);
  EXPECT_EQ(reg.specs[0].file, low + "/nvidia.yaml");
  EXPECT_EQ(reg.specs[1].file, low + "/other.json");
  EXPECT_EQ(reg.specs[2].file, high + "/x.yml");
  ASSERT_EQ(reg.errors.size(), 1u);
  EXPECT_EQ(reg.errors[0].message,
            broken + ": devices[0].containerEdits.env[0]: \"NOPE\" is not KEY=VALUE");

  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"vendor.com/x=a"}, fakeStat);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->env, (std::vector<std::string>{"FROM=run"}));

  // A device of the broken file reports why the file was refused.
  edit = resolveCdiDevices(reg, {"vendor.com/broken=a"}, fakeStat);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().message, "CDI device vendor.com/broken=a unusable: " + broken +
                                      ": devices[0].containerEdits.env[0]: \"NOPE\" is not "
                                      "KEY=VALUE");
  // Other kinds still resolve.
  EXPECT_TRUE(resolveCdiDevices(reg, {"nvidia.com/gpu=0"}, fakeStat));
}

TEST(CdiLoad, DefaultDirs) {
  unsetenv("HULL_CDI_SPEC_DIRS");
  EXPECT_EQ(defaultCdiSpecDirs(), (std::vector<std::string>{"/etc/cdi", "/var/run/cdi"}));
  setenv("HULL_CDI_SPEC_DIRS", "/a::/b/", 1);
  EXPECT_EQ(defaultCdiSpecDirs(), (std::vector<std::string>{"/a", "/b/"}));
  setenv("HULL_CDI_SPEC_DIRS", "", 1);
  EXPECT_TRUE(defaultCdiSpecDirs().empty());
  unsetenv("HULL_CDI_SPEC_DIRS");
}

// A driver whose files live under /run/nvidia/driver, as a driver container installs them.
Driver containerizedDriver() {
  Driver d;
  d.root = "/run/nvidia/driver";
  for (int i = 0; i < 2; ++i) {
    Gpu gpu;
    gpu.index = i;
    gpu.minor = i;
    gpu.uuid = "GPU-0000000" + std::to_string(i) + "-aaaa-bbbb-cccc-dddddddddddd";
    gpu.node = DeviceNode{"/run/nvidia/driver/dev/nvidia" + std::to_string(i),
                          "/dev/nvidia" + std::to_string(i),
                          'c',
                          195,
                          i,
                          0666};
    d.gpus.push_back(gpu);
  }
  d.control_nodes = {
      DeviceNode{"/run/nvidia/driver/dev/nvidiactl", "/dev/nvidiactl", 'c', 195, 255, 0666},
      DeviceNode{"/run/nvidia/driver/dev/nvidia-uvm", "/dev/nvidia-uvm", 'c', 508, 0, 0666}};
  const std::string lib = "/usr/lib/x86_64-linux-gnu/";
  d.libraries = {
      DriverFile{"/run/nvidia/driver" + lib + "libcuda.so.550.54.14", lib + "libcuda.so.550.54.14",
                 "libcuda.so.1", Capability::kCompute},
      DriverFile{"/run/nvidia/driver" + lib + "libnvidia-ml.so.550.54.14",
                 lib + "libnvidia-ml.so.550.54.14", "libnvidia-ml.so.1", Capability::kUtility},
      DriverFile{"/run/nvidia/driver/usr/lib/xorg/modules/drivers/nvidia_drv.so",
                 "/usr/lib/xorg/modules/drivers/nvidia_drv.so", "", Capability::kDisplay}};
  d.binaries = {DriverFile{"/run/nvidia/driver/usr/bin/nvidia-smi", "/usr/bin/nvidia-smi", "",
                           Capability::kUtility}};
  d.firmware = {DriverFile{"/run/nvidia/driver/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin",
                           "/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin", "",
                           Capability::kCompute}};
  d.ipc = {DriverFile{"/run/nvidia-persistenced/socket", "/run/nvidia-persistenced/socket", "",
                      Capability::kUtility}};
  return d;
}

TEST(CdiGenerate, FromDriver) {
  CdiSpec spec = generateCdiSpec(containerizedDriver(), "/usr/local/bin/hull");
  EXPECT_EQ(spec.version, "0.5.0");  // hostPath and names that start with a digit
  EXPECT_EQ(spec.kind, "nvidia.com/gpu");
  ASSERT_EQ(spec.devices.size(), 5u);
  EXPECT_EQ(spec.devices[0].name, "0");
  EXPECT_EQ(spec.devices[1].name, "1");
  EXPECT_EQ(spec.devices[2].name, "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd");
  EXPECT_EQ(spec.devices[4].name, "all");
  const CdiDeviceNode& node1 = spec.devices[1].edits.device_nodes.at(0);
  EXPECT_EQ(node1.path, "/dev/nvidia1");
  EXPECT_EQ(node1.host_path, "/run/nvidia/driver/dev/nvidia1");
  EXPECT_TRUE(node1.type.empty());  // numbers are the runtime's to look up
  EXPECT_FALSE(node1.major.has_value());
  EXPECT_EQ(spec.devices[4].edits.device_nodes.size(), 2u);
  EXPECT_EQ(spec.edits.env, (std::vector<std::string>{"NVIDIA_VISIBLE_DEVICES=void"}));
  EXPECT_EQ(spec.edits.device_nodes.size(), 2u);
  // Libraries but the display one, the binary, the firmware and the socket.
  ASSERT_EQ(spec.edits.mounts.size(), 5u);
  EXPECT_EQ(spec.edits.mounts[0].options,
            (std::vector<std::string>{"ro", "nosuid", "nodev", "bind"}));
  EXPECT_EQ(spec.edits.mounts[4].options,
            (std::vector<std::string>{"ro", "nosuid", "nodev", "bind", "noexec"}));
  ASSERT_EQ(spec.edits.hooks.size(), 1u);
  EXPECT_EQ(spec.edits.hooks[0].hook_name, "createContainer");
  EXPECT_EQ(spec.edits.hooks[0].path, "/usr/local/bin/hull");
  EXPECT_EQ(
      spec.edits.hooks[0].args,
      ldcacheHookArgs("/usr/local/bin/hull", {"/usr/lib/x86_64-linux-gnu"}));  // no display dir

  // What it writes reads back the same, and is a spec hull itself accepts.
  for (const std::string& text : {cdiSpecToJson(spec), cdiSpecToYaml(spec)}) {
    Result<CdiSpec> back = parseCdiSpec(text, "nvidia.yaml");
    ASSERT_TRUE(back) << back.error().message << "\n" << text;
    back->file.clear();
    EXPECT_EQ(*back, spec);
  }
  std::string golden = std::string(HULL_TESTDATA) + "/cdi/golden/generated.yaml";
  if (getenv("HULL_UPDATE_GOLDEN")) std::ofstream(golden) << cdiSpecToYaml(spec);
  std::ifstream in(golden);
  std::string want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(cdiSpecToYaml(spec), want);
}

TEST(CdiGenerate, ResolvesWithoutTheHost) {
  CdiRegistry reg;
  reg.specs.push_back(generateCdiSpec(containerizedDriver(), "/usr/local/bin/hull"));
  // Every node has a hostPath: the stat looks there, not at the container path.
  StatNode stat = [](const std::string& path) -> Result<HostNode> {
    if (path.rfind("/run/nvidia/driver/dev/", 0) != 0) return fail(Errc::kNotFound, path);
    return HostNode{"c", 195, 7, 0666};
  };
  Result<oci::SpecEdit> edit = resolveCdiDevices(reg, {"nvidia.com/gpu=all"}, stat);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->devices.size(), 4u);
  EXPECT_EQ(edit->mounts.size(), 5u);
  EXPECT_EQ(edit->hooks.create_container.size(), 1u);
}

TEST(CdiGenerate, NoGpus) {
  Driver d = containerizedDriver();
  d.gpus.clear();
  CdiSpec spec = generateCdiSpec(d, "/usr/local/bin/hull");
  EXPECT_TRUE(spec.devices.empty());  // nothing to offer: callers write no spec
}

}  // namespace
}  // namespace hull::gpu
