#include "gpu/driver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace hull::gpu {
namespace {

namespace stdfs = std::filesystem;

void writeText(const std::string& path, std::string_view text) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  std::ofstream(path) << text;
}

// A fresh path under the test temp dir, canonical (discovery reports canonical host paths).
std::string tmp(const std::string& name) {
  // The pid keeps concurrent runs of this binary apart.
  return (stdfs::canonical(::testing::TempDir()) / (name + "-" + std::to_string(::getpid())))
      .string();
}

bool makeRoot(const std::string& dir, const std::string& args) {
  std::string cmd = std::string(HULL_SOURCE_DIR) + "/tests/fakes/nvidia-driver/make-root.sh " +
                    dir + " " + args + " 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

// ---- parsers ---------------------------------------------------------------------------------

TEST(ParseProcDriverVersion, ProprietaryAndOpenModules) {
  auto v = parseProcDriverVersion(
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n"
      "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n");
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->str(), "550.54.14");
  v = parseProcDriverVersion(
      "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build  "
      "(dvs-builder@U16-I3-B03-4-3)  Fri Aug 16 21:47:45 UTC 2024\nGCC version: ...\n");
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->str(), "560.35.03");
  v = parseProcDriverVersion("NVRM version: NVIDIA UNIX aarch64 Kernel Module  535.129.03  Thu");
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->str(), "535.129.03");
}

TEST(ParseProcDriverVersion, BrokenInput) {
  auto err = [](std::string_view text) {
    auto v = parseProcDriverVersion(text);
    EXPECT_FALSE(v.has_value());
    return v ? std::string("(no error)") : v.error().message;
  };
  EXPECT_EQ(err(""), "no \"NVRM version:\" line");
  EXPECT_EQ(err("GCC version: 12\n"), "no \"NVRM version:\" line");
  EXPECT_EQ(err("NVRM version: something else\n"), "\"NVRM version:\" line names no Kernel Module");
  EXPECT_EQ(err("NVRM version: NVIDIA UNIX x86_64 Kernel Module   \nx 1.2.3"),
            "\"NVRM version:\" line has no version");
  EXPECT_EQ(err("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64"),
            "\"NVRM version:\" line has no version");
  EXPECT_EQ(err("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.x.14  Thu"),
            "bad driver version \"550.x.14\"");
  EXPECT_EQ(err("NVRM version: NVIDIA UNIX x86_64 Kernel Module  -550.54.14  Thu"),
            "bad driver version \"-550.54.14\"");
}

TEST(ParseGpuInformation, RealFile) {
  auto info = parseGpuInformation(
      "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 10\n"
      "GPU UUID: \t GPU-9221d5d1-b60b-a624-bf14-0a1819cfda3b\nVideo BIOS: \t 96.00.99.00.01\n"
      "Bus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\n"
      "Bus Location: \t 0000:62:00.0\nDevice Minor: \t 5\nGPU Firmware: \t 535.129.03\n"
      "GPU Excluded:\t No\n");
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(info->uuid, "GPU-9221d5d1-b60b-a624-bf14-0a1819cfda3b");
  EXPECT_EQ(info->bus_location, "0000:62:00.0");
  EXPECT_EQ(info->minor, 5);
  EXPECT_FALSE(info->excluded);
}

TEST(ParseGpuInformation, MissingFieldsStayEmpty) {
  auto info = parseGpuInformation("garbage without colons\n\nIRQ: 7\nGPU Excluded: Yes");
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "");
  EXPECT_EQ(info->uuid, "");
  EXPECT_EQ(info->minor, -1);
  EXPECT_TRUE(info->excluded);
  EXPECT_TRUE(parseGpuInformation("").has_value());
}

TEST(ParseGpuInformation, BadMinor) {
  for (std::string_view bad : {"x", "-1", "12abc", "", "99999999999999999999"}) {
    auto info = parseGpuInformation("Device Minor: " + std::string(bad) + "\n");
    ASSERT_FALSE(info.has_value()) << bad;
    EXPECT_EQ(info.error().message, "bad Device Minor \"" + std::string(bad) + "\"");
  }
}

TEST(Capabilities, Parse) {
  auto caps = parseCapabilities("");
  ASSERT_TRUE(caps.has_value());
  EXPECT_EQ(capabilitiesString(*caps), "compute,utility");
  caps = parseCapabilities("all");
  ASSERT_TRUE(caps.has_value());
  EXPECT_EQ(capabilitiesString(*caps), "compute,utility,video,graphics,display,compat32,ngx");
  caps = parseCapabilities(" video , graphics,,compute");
  ASSERT_TRUE(caps.has_value());
  EXPECT_EQ(capabilitiesString(*caps), "compute,video,graphics");
  caps = parseCapabilities("compute,bogus");
  ASSERT_FALSE(caps.has_value());
  EXPECT_EQ(caps.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(caps.error().message,
            "unknown driver capability \"bogus\" (known: compute, utility, video, graphics, "
            "display, compat32, ngx, all)");
  EXPECT_EQ(capabilityName(Capability::kNgx), "ngx");
}

// ---- discovery over a fake driver root -------------------------------------------------------

class DriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || std::system("command -v gcc >/dev/null") != 0) return;
    root_ = tmp("driver-fake-root");
    stdfs::remove_all(root_);
    if (!makeRoot(root_, "")) root_.clear();
    // Where mknod is not permitted (some containers) the root has no nodes to discover.
    struct stat st {};
    if (!root_.empty() &&
        (::stat((root_ + "/dev/nvidiactl").c_str(), &st) != 0 || !S_ISCHR(st.st_mode))) {
      stdfs::remove_all(root_);
      root_.clear();
    }
  }
  static void TearDownTestSuite() {
    if (!root_.empty()) stdfs::remove_all(root_);
    stdfs::remove_all(tmp("driver-fake-root-cuda"));
    stdfs::remove_all(tmp("driver-proc"));
  }
  void SetUp() override {
    if (root_.empty()) GTEST_SKIP() << "the fake driver root needs root, gcc and a permitted mknod";
  }
  static Driver discover(bool query_libcuda = false) {
    DiscoverOptions o;
    o.driver_root = root_;
    o.query_libcuda = query_libcuda;
    auto d = discoverDriver(o);
    EXPECT_TRUE(d.has_value()) << d.error().message;
    return d ? *d : Driver{};
  }
  static inline std::string root_;
};

TEST_F(DriverTest, VersionAndCuda) {
  Driver d = discover();
  EXPECT_EQ(d.root, root_);
  EXPECT_EQ(d.version.str(), "550.54.14");
  ASSERT_TRUE(d.cuda.has_value());
  EXPECT_EQ(d.cuda->str(), "12.4");
}

TEST_F(DriverTest, QueriesLibcudaWhenAsked) {
  std::string other = tmp("driver-fake-root-cuda");
  stdfs::remove_all(other);
  ASSERT_TRUE(makeRoot(other, "--cuda-int 12050 --gpus 1"));
  DiscoverOptions o;
  o.driver_root = other;
  auto table = discoverDriver(o);
  ASSERT_TRUE(table.has_value()) << table.error().message;
  EXPECT_EQ(table->cuda->str(), "12.4");  // the table's answer for 550.54.14
  o.query_libcuda = true;
  auto asked = discoverDriver(o);
  ASSERT_TRUE(asked.has_value()) << asked.error().message;
  EXPECT_EQ(asked->cuda->str(), "12.5");  // what this libcuda says
}

TEST_F(DriverTest, GpusAndNodes) {
  Driver d = discover();
  ASSERT_EQ(d.gpus.size(), 2u);
  for (int i = 0; i < 2; i++) {
    const Gpu& g = d.gpus[static_cast<size_t>(i)];
    EXPECT_EQ(g.index, i);
    EXPECT_EQ(g.minor, i);
    EXPECT_EQ(g.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(g.uuid, "GPU-8c4b1a3e-0d2f-4e6a-9b7c-5f1e2d3c4b0" + std::to_string(i));
    EXPECT_EQ(g.pci_bus_id, "0000:0" + std::to_string(i + 1) + ":00.0");
    EXPECT_EQ(g.node.host_path, root_ + "/dev/nvidia" + std::to_string(i));
    EXPECT_EQ(g.node.container_path, "/dev/nvidia" + std::to_string(i));
    EXPECT_EQ(g.node.major, 195);
    EXPECT_EQ(g.node.minor, i);
  }
  std::map<std::string, std::pair<int64_t, int64_t>> nodes;
  for (const DeviceNode& n : d.control_nodes) {
    EXPECT_EQ(n.host_path, root_ + n.container_path);
    nodes[n.container_path] = {n.major, n.minor};
  }
  using P = std::pair<int64_t, int64_t>;
  EXPECT_EQ(nodes, (std::map<std::string, P>{{"/dev/nvidiactl", P{195, 255}},
                                             {"/dev/nvidia-uvm", P{510, 0}},
                                             {"/dev/nvidia-uvm-tools", P{510, 1}},
                                             {"/dev/nvidia-modeset", P{195, 254}},
                                             {"/dev/nvidia-caps/nvidia-cap1", P{511, 1}},
                                             {"/dev/nvidia-caps/nvidia-cap2", P{511, 2}}}));
}

TEST_F(DriverTest, LibrariesByCapabilityWithSonames) {
  Driver d = discover();
  std::map<std::string, std::pair<std::string, Capability>> libs;
  const std::string dir = "/usr/lib/x86_64-linux-gnu/";
  for (const DriverFile& f : d.libraries) {
    EXPECT_EQ(f.host_path, root_ + f.container_path);
    EXPECT_TRUE(f.container_path.starts_with(dir)) << f.container_path;
    libs[f.container_path.substr(dir.size())] = {f.soname, f.capability};
  }
  using P = std::pair<std::string, Capability>;
  const std::string v = ".so.550.54.14";
  EXPECT_EQ(libs,
            (std::map<std::string, P>{
                {"libcuda" + v, P{"libcuda.so.1", Capability::kCompute}},
                {"libnvidia-ptxjitcompiler" + v,
                 P{"libnvidia-ptxjitcompiler.so.1", Capability::kCompute}},
                {"libnvidia-nvvm" + v, P{"libnvidia-nvvm.so.4", Capability::kCompute}},
                {"libnvidia-allocator" + v, P{"libnvidia-allocator.so.1", Capability::kCompute}},
                {"libnvidia-ml" + v, P{"libnvidia-ml.so.1", Capability::kUtility}},
                {"libnvidia-cfg" + v, P{"libnvidia-cfg.so.1", Capability::kUtility}},
                {"libnvidia-encode" + v, P{"libnvidia-encode.so.1", Capability::kVideo}},
                {"libnvcuvid" + v, P{"libnvcuvid.so.1", Capability::kVideo}},
                {"libnvidia-opticalflow" + v, P{"libnvidia-opticalflow.so.1", Capability::kVideo}},
                {"libEGL_nvidia" + v, P{"libEGL_nvidia.so.0", Capability::kGraphics}},
                {"libGLX_nvidia" + v, P{"libGLX_nvidia.so.0", Capability::kGraphics}},
                {"libnvidia-glcore" + v, P{"libnvidia-glcore" + v, Capability::kGraphics}},
                {"libnvidia-eglcore" + v, P{"libnvidia-eglcore" + v, Capability::kGraphics}},
            }));
  // The older driver's libcuda.so.470.1 carries the same soname but is not this driver's.
  EXPECT_EQ(libs.count("libcuda.so.470.1"), 0u);
  EXPECT_EQ(d.library_dirs(), std::vector<std::string>{"/usr/lib/x86_64-linux-gnu"});
}

TEST_F(DriverTest, BinariesFirmwareIpc) {
  Driver d = discover();
  std::vector<std::string> bins;
  for (const DriverFile& f : d.binaries) {
    EXPECT_EQ(f.host_path, root_ + f.container_path);
    bins.push_back(f.container_path);
  }
  EXPECT_EQ(bins,
            (std::vector<std::string>{
                "/usr/bin/nvidia-smi", "/usr/bin/nvidia-debugdump", "/usr/bin/nvidia-persistenced",
                "/usr/bin/nvidia-cuda-mps-control", "/usr/bin/nvidia-cuda-mps-server"}));
  ASSERT_EQ(d.firmware.size(), 2u);
  EXPECT_EQ(d.firmware[0].container_path, "/lib/firmware/nvidia/550.54.14/gsp_ga10x.bin");
  EXPECT_EQ(d.firmware[1].container_path, "/lib/firmware/nvidia/550.54.14/gsp_tu10x.bin");
  ASSERT_EQ(d.ipc.size(), 1u);
  EXPECT_EQ(d.ipc[0].container_path, "/run/nvidia-persistenced/socket");
}

TEST_F(DriverTest, GpusSortedByBusIdAndExcludedSkipped) {
  std::string proc = tmp("driver-proc");
  stdfs::remove_all(proc);
  writeText(proc + "/driver/nvidia/version",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 2024\n");
  auto gpu = [&](const std::string& bus, int minor, const char* excluded) {
    writeText(proc + "/driver/nvidia/gpus/" + bus + "/information",
              "Model: \t\t NVIDIA H200\nGPU UUID: \t GPU-" + bus + "\nBus Location: \t " + bus +
                  "\nDevice Minor: \t " + std::to_string(minor) + "\nGPU Excluded:\t " + excluded +
                  "\n");
  };
  gpu("0000:9A:00.0", 0, "No");
  gpu("0000:19:00.0", 3, "No");
  gpu("0000:3b:00.0", 1, "Yes");
  gpu("0000:1a:00.0", 2, "No");
  DiscoverOptions o;
  o.driver_root = root_;
  o.proc_root = proc;
  auto d = discoverDriver(o);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  std::vector<std::string> order;
  for (const Gpu& g : d->gpus)
    order.push_back(std::to_string(g.index) + ":" + g.pci_bus_id + ":" + std::to_string(g.minor));
  EXPECT_EQ(order,
            (std::vector<std::string>{"0:0000:19:00.0:3", "1:0000:1a:00.0:2", "2:0000:9a:00.0:0"}));
  // /dev/nvidia3 does not exist in the fake root: the node gets the driver's fixed major.
  EXPECT_EQ(d->gpus[0].node.major, 195);
  EXPECT_EQ(d->gpus[0].node.minor, 3);

  writeText(proc + "/driver/nvidia/gpus/0000:1a:00.0/information", "Device Minor: two\n");
  auto bad = discoverDriver(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message,
            proc + "/driver/nvidia/gpus/0000:1a:00.0/information: bad Device Minor \"two\"");
  writeText(proc + "/driver/nvidia/gpus/0000:1a:00.0/information", "Model: X\n");
  bad = discoverDriver(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message,
            proc + "/driver/nvidia/gpus/0000:1a:00.0/information: no Device Minor");
  writeText(proc + "/driver/nvidia/version", "NVRM version: garbage\n");
  bad = discoverDriver(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(bad.error().message,
            proc + "/driver/nvidia/version: \"NVRM version:\" line names no Kernel Module");
}

TEST_F(DriverTest, EnvironmentChoosesRoot) {
  ::setenv("HULL_DRIVER_ROOT", root_.c_str(), 1);
  auto d = discoverDriver({});
  ::unsetenv("HULL_DRIVER_ROOT");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->root, root_);
}

// A root copied off a host: no /proc, no nodes. The version comes from libcuda.so.1's target,
// and links that point outside the root are followed inside it.
TEST(DriverDiscovery, VersionFromLibrariesWithoutProc) {
  if (std::system("command -v gcc >/dev/null") != 0) GTEST_SKIP() << "gcc is not installed";
  if (::access("/proc/driver/nvidia/version", F_OK) == 0) GTEST_SKIP() << "a real driver is here";
  std::string root = tmp("driver-copied-root");
  stdfs::remove_all(root);
  ASSERT_TRUE(makeRoot(root, "--driver 535.129.03 --no-nodes"));
  stdfs::remove(root + "/proc/driver/nvidia/version");
  std::string lib = root + "/usr/lib/x86_64-linux-gnu/";
  stdfs::remove(lib + "libnvidia-cfg.so.535.129.03");
  stdfs::create_symlink("/lib/x86_64-linux-gnu/libc.so.6", lib + "libnvidia-cfg.so.535.129.03");
  stdfs::remove(lib + "libnvcuvid.so.535.129.03");
  stdfs::create_symlink("../../../../../../../../etc/passwd", lib + "libnvcuvid.so.535.129.03");
  DiscoverOptions o;
  o.driver_root = root;
  auto d = discoverDriver(o);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->version.str(), "535.129.03");
  EXPECT_TRUE(d->gpus.empty());
  EXPECT_TRUE(d->control_nodes.empty());
  for (const DriverFile& f : d->libraries) {
    EXPECT_TRUE(f.host_path.starts_with(root + "/")) << f.host_path;
    EXPECT_NE(f.container_path, "/usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.535.129.03");
    EXPECT_NE(f.container_path, "/usr/lib/x86_64-linux-gnu/libnvcuvid.so.535.129.03");
  }
  EXPECT_EQ(d->libraries.size(), 11u);
  stdfs::remove_all(root);
}

TEST(DriverDiscovery, NotFound) {
  std::string empty = tmp("driver-empty-root");
  stdfs::create_directories(empty);
  DiscoverOptions o;
  o.driver_root = empty;
  auto d = discoverDriver(o);
  stdfs::remove_all(empty);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::kNotFound);
  EXPECT_EQ(d.error().message, "no NVIDIA driver found: looked in " + empty +
                                   " (set --driver-root or HULL_DRIVER_ROOT)");
  if (::access("/proc/driver/nvidia/version", F_OK) == 0 ||
      ::access("/run/nvidia/driver", F_OK) == 0 || ::access("/usr/local/nvidia", F_OK) == 0) {
    GTEST_SKIP() << "this machine has a driver";
  }
  ::unsetenv("HULL_DRIVER_ROOT");
  d = discoverDriver({});
  if (d.has_value()) GTEST_SKIP() << "this machine has driver libraries";
  EXPECT_EQ(d.error().message,
            "no NVIDIA driver found: looked in /, /run/nvidia/driver, /usr/local/nvidia (set "
            "--driver-root or HULL_DRIVER_ROOT)");
}

}  // namespace
}  // namespace hull::gpu
