#include "gpu/inject.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hull::gpu {
namespace {

using C = Capability;

DeviceNode node(std::string name, int64_t major, int64_t minor) {
  DeviceNode n;
  n.host_path = "/host/dev/" + name;
  n.container_path = "/dev/" + name;
  n.major = major;
  n.minor = minor;
  return n;
}

DriverFile file(std::string container_path, C cap) {
  DriverFile f;
  f.host_path = "/drv" + container_path;
  f.container_path = std::move(container_path);
  f.capability = cap;
  return f;
}

// A driver written by hand: two GPUs, the usual control nodes, a library per capability.
Driver fakeDriver() {
  Driver d;
  d.root = "/drv";
  for (int i = 0; i < 2; ++i) {
    Gpu gpu;
    gpu.index = i;
    gpu.minor = i;
    gpu.uuid = "GPU-" + std::to_string(i);
    gpu.node = node("nvidia" + std::to_string(i), 195, i);
    d.gpus.push_back(gpu);
  }
  d.control_nodes = {node("nvidiactl", 195, 255), node("nvidia-uvm", 508, 0),
                     node("nvidia-uvm-tools", 508, 1), node("nvidia-modeset", 195, 254),
                     node("nvidia-caps/nvidia-cap1", 511, 1)};
  const std::string lib = "/usr/lib/x86_64-linux-gnu/";
  d.libraries = {file(lib + "libcuda.so.550.54.14", C::kCompute),
                 file(lib + "libnvidia-ml.so.550.54.14", C::kUtility),
                 file(lib + "libnvcuvid.so.550.54.14", C::kVideo),
                 file("/usr/lib/i386-linux-gnu/libcuda.so.550.54.14", C::kCompat32)};
  d.binaries = {file("/usr/bin/nvidia-smi", C::kUtility),
                file("/usr/bin/nvidia-cuda-mps-control", C::kCompute)};
  d.firmware = {file("/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin", C::kUtility)};
  d.ipc = {file("/run/nvidia-persistenced/socket", C::kUtility),
           file("/tmp/nvidia-mps", C::kCompute)};
  return d;
}

Selection select(std::vector<int> gpus, std::set<C> caps, std::string visible = "0") {
  Selection s;
  s.gpus = std::move(gpus);
  s.caps = std::move(caps);
  s.visible_devices = std::move(visible);
  return s;
}

std::vector<std::string> devicePaths(const oci::SpecEdit& e) {
  std::vector<std::string> out;
  for (const auto& d : e.devices) out.push_back(d.path);
  return out;
}

std::vector<std::string> mountDestinations(const oci::SpecEdit& e) {
  std::vector<std::string> out;
  for (const auto& m : e.mounts) out.push_back(m.destination);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

InjectOptions options() {
  InjectOptions o;
  o.hook_binary = "/usr/bin/hull";
  return o;
}

TEST(GpuSpecEditTest, ComputeAndUtility) {
  auto edit = gpuSpecEdit(fakeDriver(), select({1}, {C::kCompute, C::kUtility}, "1"), options());
  EXPECT_EQ(devicePaths(edit),
            (std::vector<std::string>{"/dev/nvidia1", "/dev/nvidiactl", "/dev/nvidia-uvm",
                                      "/dev/nvidia-uvm-tools"}));
  ASSERT_EQ(edit.device_rules.size(), edit.devices.size());
  for (size_t i = 0; i < edit.devices.size(); ++i) {
    EXPECT_EQ(edit.devices[i].file_mode, 0666u);
    EXPECT_EQ(edit.devices[i].type, "c");
    EXPECT_TRUE(edit.device_rules[i].allow);
    EXPECT_EQ(edit.device_rules[i].access, "rwm");
    EXPECT_EQ(edit.device_rules[i].major, edit.devices[i].major);
    EXPECT_EQ(edit.device_rules[i].minor, edit.devices[i].minor);
  }
  auto dest = mountDestinations(edit);
  EXPECT_TRUE(contains(dest, "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14"));
  EXPECT_TRUE(contains(dest, "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.14"));
  EXPECT_FALSE(contains(dest, "/usr/lib/x86_64-linux-gnu/libnvcuvid.so.550.54.14"));
  EXPECT_FALSE(contains(dest, "/usr/lib/i386-linux-gnu/libcuda.so.550.54.14"));
  EXPECT_TRUE(contains(dest, "/usr/bin/nvidia-smi"));
  EXPECT_TRUE(contains(dest, "/usr/bin/nvidia-cuda-mps-control"));
  EXPECT_TRUE(contains(dest, "/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin"));
  EXPECT_TRUE(contains(dest, "/run/nvidia-persistenced/socket"));
  EXPECT_TRUE(contains(dest, "/tmp/nvidia-mps"));
  for (const auto& m : edit.mounts) {
    EXPECT_EQ(m.type, "bind");
    EXPECT_EQ(m.source, "/drv" + m.destination);
    EXPECT_EQ(m.options, (std::vector<std::string>{"ro", "nosuid", "nodev", "bind"}));
  }
  EXPECT_TRUE(contains(edit.env, "NVIDIA_VISIBLE_DEVICES=1"));
  ASSERT_EQ(edit.hooks.create_container.size(), 1u);
  const auto& hook = edit.hooks.create_container[0];
  EXPECT_EQ(hook.path, "/usr/bin/hull");
  EXPECT_EQ(hook.args, ldcacheHookArgs("/usr/bin/hull", {"/usr/lib/x86_64-linux-gnu"}))
      << "library_dirs() of the driver decides the folders";
}

TEST(GpuSpecEditTest, UtilityOnlyLeavesComputeOut) {
  auto edit = gpuSpecEdit(fakeDriver(), select({0}, {C::kUtility}), options());
  EXPECT_EQ(devicePaths(edit), (std::vector<std::string>{"/dev/nvidia0", "/dev/nvidiactl"}));
  auto dest = mountDestinations(edit);
  EXPECT_FALSE(contains(dest, "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14"));
  EXPECT_FALSE(contains(dest, "/usr/bin/nvidia-cuda-mps-control"));
  EXPECT_FALSE(contains(dest, "/tmp/nvidia-mps"));
  EXPECT_TRUE(contains(dest, "/run/nvidia-persistenced/socket"));
  EXPECT_TRUE(contains(dest, "/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin"));
}

TEST(GpuSpecEditTest, DisplayGetsModesetAndVideoNoFirmware) {
  auto edit = gpuSpecEdit(fakeDriver(), select({0}, {C::kDisplay, C::kVideo}), options());
  EXPECT_EQ(devicePaths(edit),
            (std::vector<std::string>{"/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-modeset"}));
  auto dest = mountDestinations(edit);
  EXPECT_TRUE(contains(dest, "/usr/lib/x86_64-linux-gnu/libnvcuvid.so.550.54.14"));
  EXPECT_FALSE(contains(dest, "/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin"));
  EXPECT_FALSE(contains(dest, "/usr/bin/nvidia-smi"));
}

TEST(GpuSpecEditTest, NoneGivesDriverWithoutGpus) {
  auto edit = gpuSpecEdit(fakeDriver(), select({}, {C::kCompute}, "none"), options());
  EXPECT_EQ(devicePaths(edit), (std::vector<std::string>{"/dev/nvidiactl", "/dev/nvidia-uvm",
                                                         "/dev/nvidia-uvm-tools"}));
  EXPECT_TRUE(contains(mountDestinations(edit), "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14"));
  EXPECT_TRUE(contains(edit.env, "NVIDIA_VISIBLE_DEVICES=none"));
}

TEST(GpuSpecEditTest, VoidIsEmpty) {
  auto s = select({0, 1}, {C::kCompute});
  s.inject_driver = false;
  EXPECT_EQ(gpuSpecEdit(fakeDriver(), s, options()), oci::SpecEdit{});
}

TEST(GpuSpecEditTest, CompatFolderFirst) {
  auto o = options();
  CompatLibs compat;
  compat.dir = std::string(kCompatDir);
  o.compat = compat;
  auto edit = gpuSpecEdit(fakeDriver(), select({0}, {C::kCompute}), o);
  ASSERT_EQ(edit.hooks.create_container.size(), 1u);
  const auto& args = edit.hooks.create_container[0].args;
  ASSERT_GE(args.size(), 6u);
  EXPECT_EQ(args[4], "--folder");
  EXPECT_EQ(args[5], "/usr/local/cuda/compat");
}

TEST(GpuSpecEditTest, CapabilitiesEnv) {
  auto edit = gpuSpecEdit(fakeDriver(), select({0}, {C::kCompute, C::kUtility}), options());
  EXPECT_TRUE(contains(
      edit.env, "NVIDIA_DRIVER_CAPABILITIES=" + capabilitiesString({C::kCompute, C::kUtility})));
}

TEST(LdcacheHookArgsTest, Folders) {
  EXPECT_EQ(ldcacheHookArgs("/h", {"/a", "/b"}),
            (std::vector<std::string>{"/h", "gpu", "hook", "update-ldcache", "--folder", "/a",
                                      "--folder", "/b"}));
}

}  // namespace
}  // namespace hull::gpu
