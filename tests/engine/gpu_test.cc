// Devices for containers: RootfsView::listDir (what the GPU planning reads of an image),
// --device with host paths, and planGpus over CDI specs and a fake driver root
// (tests/fakes/nvidia-driver/make-root.sh, when gcc is there).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>

#include "engine/gpu.h"
#include "engine/rootfs_view.h"
#include "engine/run_spec.h"
#include "engine/run_spec_internal.h"
#include "test_util.h"

namespace hull::engine {
namespace {

using testing::kContainerId;

using Names = std::optional<std::vector<std::string>>;
using Files = std::map<std::string, std::string>;

class TempDir {
 public:
  TempDir() : path_(testing::freshTempDir("gpu-test")) { EXPECT_TRUE(mkdirAll(path_)); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// --- RootfsView::listDir -------------------------------------------------------------------

TEST(RootfsViewListDir, MemoryViewListsTheDirectoriesOfItsFiles) {
  MemoryRootfsView view(Files{{"/usr/local/cuda/compat/libcuda.so.560.28.03", "x"},
                              {"/usr/local/cuda/compat/libcuda.so.1", "y"},
                              {"/etc/passwd", "root:x:0:0::/root:/bin/sh\n"}});
  EXPECT_EQ(*view.listDir("/usr/local/cuda/compat"),
            Names({"libcuda.so.1", "libcuda.so.560.28.03"}));
  EXPECT_EQ(*view.listDir("/usr/local/cuda/compat/"),
            Names({"libcuda.so.1", "libcuda.so.560.28.03"}));
  EXPECT_EQ(*view.listDir("/usr/local"), Names({"cuda"}));
  EXPECT_EQ(*view.listDir("/"), Names({"etc", "usr"}));
  EXPECT_EQ(*view.listDir("/etc/passwd"), Names());  // a file
  EXPECT_EQ(*view.listDir("/nope"), Names());
  EXPECT_EQ(*view.listDir("/us"), Names());  // a prefix of a name is not a directory
}

TEST(RootfsViewListDir, DirViewResolvesInsideTheRoot) {
  TempDir tmp;
  fs::path root = tmp.path() / "root";
  ASSERT_TRUE(mkdirAll(root / "usr/local/cuda/compat"));
  ASSERT_TRUE(mkdirAll(root / "etc"));
  ASSERT_TRUE(writeFileAtomic(root / "usr/local/cuda/compat/libcuda.so.560.28.03", "x"));
  ASSERT_TRUE(writeFileAtomic(root / "etc/only-in-root", "x"));
  ASSERT_TRUE(writeFileAtomic(root / "file", "x"));
  // Absolute and climbing symlinks in a hostile image stay inside the rootfs.
  fs::create_directory_symlink("/etc", root / "abs");
  fs::create_directory_symlink("../../../../../../etc", root / "climb");
  auto view = DirRootfsView::open(root);
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(*view->listDir("/usr/local/cuda/compat"), Names({"libcuda.so.560.28.03"}));
  EXPECT_EQ(*view->listDir("/abs"), Names({"only-in-root"}));
  EXPECT_EQ(*view->listDir("/climb"), Names({"only-in-root"}));
  EXPECT_EQ(*view->listDir("/../../etc"), Names({"only-in-root"}));
  EXPECT_EQ(*view->listDir("/file"), Names());
  EXPECT_EQ(*view->listDir("/missing/dir"), Names());
  auto top = view->listDir("/");
  ASSERT_TRUE(top && *top);
  EXPECT_EQ(**top, (std::vector<std::string>{"abs", "climb", "etc", "file", "usr"}));
}

// --- --device with host paths ----------------------------------------------------------------

HostEnvironment deviceHost() {
  HostEnvironment h;
  h.getenv = [](const std::string&) { return std::optional<std::string>(); };
  h.read_file = [](const std::string& p) -> Result<std::string> {
    return fail(Errc::kNotFound, "no " + p);
  };
  h.path_exists = [](const std::string&) { return false; };
  h.hard_rlimit = [](int) -> uint64_t { return RLIM_INFINITY; };
  h.resolv_conf = [] { return std::optional<std::string>(); };
  h.devices = [](const std::string& path) -> Result<std::vector<HostDevice>> {
    if (path == "/dev/fuse") {
      return std::vector<HostDevice>{
          {.path = "/dev/fuse", .type = "c", .major = 10, .minor = 229, .mode = 0666}};
    }
    if (path == "/dev/snd") {
      return std::vector<HostDevice>{
          {.path = "/dev/snd/controlC0", .type = "c", .major = 116, .minor = 2, .mode = 0660},
          {.path = "/dev/snd/seq", .type = "c", .major = 116, .minor = 1, .mode = 0660}};
    }
    if (path == "/dev/sda") {
      return std::vector<HostDevice>{{.path = "/dev/sda",
                                      .type = "b",
                                      .major = 8,
                                      .minor = 0,
                                      .mode = 0660,
                                      .uid = 0,
                                      .gid = 6}};
    }
    if (path == "/etc/passwd") {
      return fail(Errc::kInvalidArgument, "/etc/passwd is not a device node");
    }
    return fail(Errc::kNotFound, "stat " + path + ": No such file or directory");
  };
  return h;
}

Result<ContainerPlan> planWithDevices(std::vector<std::string> devices) {
  oci::ImageConfig image;
  image.config.cmd = std::vector<std::string>{"sh"};
  RunOptions o;
  o.devices = std::move(devices);
  MemoryRootfsView view(Files{{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"}});
  return planContainer(image, o, view, kContainerId, deviceHost());
}

TEST(HostDevices, NodesAndCgroupRulesDockersWay) {
  auto plan = planWithDevices(
      {"/dev/fuse", "/dev/sda:/dev/xvda:r", "/dev/snd:/dev/sound", "nvidia.com/gpu=0"});
  ASSERT_TRUE(plan) << plan.error().message;
  const oci::Linux& l = *plan->spec.linux;
  ASSERT_EQ(l.devices.size(), 4u);
  EXPECT_EQ(l.devices[0], (oci::Device{.path = "/dev/fuse",
                                       .type = "c",
                                       .major = 10,
                                       .minor = 229,
                                       .file_mode = 0666,
                                       .uid = 0,
                                       .gid = 0}));
  EXPECT_EQ(l.devices[1].path, "/dev/xvda");
  EXPECT_EQ(l.devices[1].type, "b");
  EXPECT_EQ(l.devices[1].gid, std::optional<uint32_t>(6));
  EXPECT_EQ(l.devices[2].path, "/dev/sound/controlC0");
  EXPECT_EQ(l.devices[3].path, "/dev/sound/seq");
  ASSERT_TRUE(l.resources);
  ASSERT_EQ(l.resources->devices.size(), 4u);
  EXPECT_EQ(l.resources->devices[0], (oci::DeviceCgroupRule{
                                         .allow = true,
                                         .type = "c",
                                         .major = 10,
                                         .minor = 229,
                                         .access = "rwm",
                                     }));
  EXPECT_EQ(l.resources->devices[1].access, "r");
  EXPECT_EQ(l.resources->devices[1].type, "b");
}

TEST(HostDevices, PermissionsAloneKeepThePath) {
  auto plan = planWithDevices({"/dev/fuse:rw"});
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->spec.linux->devices.size(), 1u);
  EXPECT_EQ(plan->spec.linux->devices[0].path, "/dev/fuse");
  EXPECT_EQ(plan->spec.linux->resources->devices[0].access, "rw");
}

TEST(HostDevices, TheSamePathTwiceKeepsOneNode) {
  auto plan = planWithDevices({"/dev/fuse", "/dev/fuse:/dev/fuse:r"});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->spec.linux->devices.size(), 1u);
}

TEST(HostDevices, NoDevicesLeaveTheSpecAlone) {
  auto plan = planWithDevices({"nvidia.com/gpu=all"});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->spec.linux->devices.empty());
  EXPECT_FALSE(plan->spec.linux->resources);
}

TEST(HostDevices, BadValuesAreOneLineErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {"dev/fuse",
       "invalid --device \"dev/fuse\": expected an absolute host path, or a CDI device name "
       "(vendor.com/class=name)"},
      {"nvidia.com/gpu=",
       "invalid --device \"nvidia.com/gpu=\": expected an absolute host path, or a CDI device "
       "name (vendor.com/class=name)"},
      {"/dev/fuse:dev/x",
       "invalid --device \"/dev/fuse:dev/x\": the container path must be absolute"},
      {"/dev/fuse:/dev/x:rwx",
       "invalid --device \"/dev/fuse:/dev/x:rwx\": permissions must be a combination of r, w and "
       "m"},
      {"/dev/fuse:/dev/x:rr",
       "invalid --device \"/dev/fuse:/dev/x:rr\": permissions must be a combination of r, w and "
       "m"},
      {"/a:/b:r:x",
       "invalid --device \"/a:/b:r:x\": expected HOST-PATH[:CONTAINER-PATH][:PERMISSIONS]"},
      {"",
       "invalid --device \"\": expected an absolute host path, or a CDI device name "
       "(vendor.com/class=name)"},
      {"/etc/passwd", "invalid --device \"/etc/passwd\": /etc/passwd is not a device node"},
      {"/dev/nope", "invalid --device \"/dev/nope\": stat /dev/nope: No such file or directory"},
  };
  for (const auto& [value, message] : cases) {
    auto plan = planWithDevices({value});
    ASSERT_FALSE(plan) << value;
    EXPECT_EQ(plan.error().message, message) << value;
    EXPECT_EQ(plan.error().message.find('\n'), std::string::npos);
  }
}

TEST(HostDevices, RealHostNodes) {
  auto null = detail::hostDevicesAt("/dev/null");
  ASSERT_TRUE(null) << null.error().message;
  ASSERT_EQ(null->size(), 1u);
  EXPECT_EQ((*null)[0].type, "c");
  EXPECT_EQ((*null)[0].major, 1);
  EXPECT_EQ((*null)[0].minor, 3);
  auto file = detail::hostDevicesAt("/etc/hostname");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message, "/etc/hostname is not a device node");
  EXPECT_FALSE(detail::hostDevicesAt("/no/such/device"));
}

// --- planGpus ----------------------------------------------------------------------------------

TEST(GpuAsk, SplitsCdiNamesFromHostPaths) {
  RunOptions o;
  o.gpus = "all";
  o.devices = {"/dev/fuse", "nvidia.com/gpu=0", "/dev/fuse:/dev/f:rw", "nvidia.com=0"};
  GpuAsk ask = gpuAsk(o);
  EXPECT_EQ(ask.gpus, "all");
  EXPECT_EQ(ask.cdi_devices, (std::vector<std::string>{"nvidia.com/gpu=0"}));
  EXPECT_TRUE(ask.any());
  EXPECT_FALSE(gpuAsk(RunOptions{}).any());
}

constexpr const char* kCdiSpec = R"({
  "cdiVersion": "0.6.0",
  "kind": "example.com/dev",
  "devices": [
    {"name": "one", "containerEdits": {
      "env": ["EXAMPLE_DEV=one"],
      "deviceNodes": [{"path": "/dev/example1", "type": "c", "major": 240, "minor": 1}]}}
  ],
  "containerEdits": {"env": ["EXAMPLE_COMMON=1"]}
}
)";

TEST(PlanGpus, CdiNamesWithoutADriver) {
  TempDir tmp;
  ASSERT_TRUE(mkdirAll(tmp.path() / "cdi"));
  ASSERT_TRUE(mkdirAll(tmp.path() / "empty-driver-root"));
  ASSERT_TRUE(writeFileAtomic(tmp.path() / "cdi/example.json", kCdiSpec));
  GpuHost host{.driver_root = (tmp.path() / "empty-driver-root").string(),
               .cdi_dirs = {(tmp.path() / "cdi").string()},
               .hook_binary = "/usr/bin/hull"};
  MemoryRootfsView rootfs;
  auto edit =
      planGpus(GpuAsk{.gpus = "", .cdi_devices = {"example.com/dev=one"}}, {}, rootfs, host);
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_NE(std::find(edit->env.begin(), edit->env.end(), "EXAMPLE_DEV=one"), edit->env.end());
  EXPECT_NE(std::find(edit->env.begin(), edit->env.end(), "EXAMPLE_COMMON=1"), edit->env.end());
  ASSERT_EQ(edit->devices.size(), 1u);
  EXPECT_EQ(edit->devices[0].path, "/dev/example1");

  auto unknown =
      planGpus(GpuAsk{.gpus = "", .cdi_devices = {"example.com/dev=two"}}, {}, rootfs, host);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("example.com/dev=two"), std::string::npos);

  auto no_driver = planGpus(GpuAsk{.gpus = "all", .cdi_devices = {}}, {}, rootfs, host);
  ASSERT_FALSE(no_driver);
  EXPECT_NE(no_driver.error().message.find("no NVIDIA driver found"), std::string::npos)
      << no_driver.error().message;
  EXPECT_EQ(no_driver.error().message.find('\n'), std::string::npos);
}

TEST(PlanGpus, NothingAskedIsAnEmptyEdit) {
  MemoryRootfsView rootfs;
  auto edit = planGpus(GpuAsk{}, {}, rootfs, GpuHost{});
  ASSERT_TRUE(edit);
  EXPECT_EQ(*edit, oci::SpecEdit{});
}

// A fake driver root (two GPUs, driver 550.54.14, CUDA 12.4), shared by
// the tests below; they skip where it cannot be built.
class FakeDriver : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::path script = fs::path(HULL_TESTDATA).parent_path() / "fakes/nvidia-driver/make-root.sh";
    if (!fs::exists(script) || ::access("/usr/bin/gcc", X_OK) != 0) return;
    dir_ = new TempDir();
    // Device nodes need root (mknod); without them discovery looks in /dev.
    std::string cmd = script.string() + " " + (dir_->path() / "root").string() +
                      (::geteuid() == 0 ? "" : " --no-nodes") + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) root_ = (dir_->path() / "root").string();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (root_.empty()) GTEST_SKIP() << "the fake driver root could not be built (gcc?)";
  }
  GpuHost host() const {
    return GpuHost{.driver_root = root_, .cdi_dirs = {}, .hook_binary = "/usr/bin/hull"};
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::string root_;
};

bool hasEnv(const oci::SpecEdit& edit, std::string_view kv) {
  return std::find(edit.env.begin(), edit.env.end(), kv) != edit.env.end();
}

TEST_F(FakeDriver, AllGpusGetLibrariesAndTheHook) {
  MemoryRootfsView rootfs;
  auto edit = planGpus(GpuAsk{.gpus = "all", .cdi_devices = {}}, {}, rootfs, host());
  if (!edit && edit.error().message.find("device") != std::string::npos) {
    GTEST_SKIP() << "no device nodes in this fake root: " << edit.error().message;
  }
  ASSERT_TRUE(edit) << edit.error().message;
  auto mounted = [&](std::string_view name) {
    return std::any_of(edit->mounts.begin(), edit->mounts.end(),
                       [&](const oci::Mount& m) { return m.destination.ends_with(name); });
  };
  EXPECT_TRUE(mounted("libcuda.so.550.54.14"));
  EXPECT_TRUE(mounted("libnvidia-ml.so.550.54.14"));
  EXPECT_TRUE(mounted("/nvidia-smi"));
  ASSERT_EQ(edit->hooks.create_container.size(), 1u);
  EXPECT_EQ(edit->hooks.create_container[0].path, "/usr/bin/hull");
  EXPECT_TRUE(hasEnv(*edit, "NVIDIA_VISIBLE_DEVICES=all") ||
              hasEnv(*edit, "NVIDIA_VISIBLE_DEVICES=0,1"));
}

TEST_F(FakeDriver, RefusesAnImageNeedingANewerCuda) {
  MemoryRootfsView rootfs;
  std::vector<std::string> env = {"NVIDIA_REQUIRE_CUDA=cuda>=12.6"};
  auto edit = planGpus(GpuAsk{.gpus = "all", .cdi_devices = {}}, env, rootfs, host());
  ASSERT_FALSE(edit);
  const std::string& m = edit.error().message;
  EXPECT_NE(m.find("12.6"), std::string::npos) << m;
  EXPECT_NE(m.find("550.54.14"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;

  // Forward compatibility libraries in the image make it run.
  MemoryRootfsView compat(Files{{"/usr/local/cuda/compat/libcuda.so.560.28.03", "elf"},
                                {"/usr/local/cuda/compat/libcuda.so.1", "link"}});
  auto with_compat = planGpus(GpuAsk{.gpus = "all", .cdi_devices = {}}, env, compat, host());
  if (!with_compat && with_compat.error().message.find("device") != std::string::npos) {
    GTEST_SKIP() << with_compat.error().message;
  }
  EXPECT_TRUE(with_compat) << with_compat.error().message;

  env.push_back("NVIDIA_DISABLE_REQUIRE=1");
  auto disabled = planGpus(GpuAsk{.gpus = "all", .cdi_devices = {}}, env, rootfs, host());
  if (!disabled && disabled.error().message.find("device") != std::string::npos) {
    GTEST_SKIP() << disabled.error().message;
  }
  EXPECT_TRUE(disabled) << disabled.error().message;
}

TEST_F(FakeDriver, BadRequestsAreOneLineErrors) {
  MemoryRootfsView rootfs;
  const std::pair<GpuAsk, std::vector<std::string>> cases[] = {
      {GpuAsk{.gpus = "4", .cdi_devices = {}}, {}},
      {GpuAsk{.gpus = "device=7", .cdi_devices = {}}, {}},
      {GpuAsk{.gpus = "\"capabilities=compute,warp\"", .cdi_devices = {}}, {}},
      {GpuAsk{.gpus = "bogus=1", .cdi_devices = {}}, {}},
      {GpuAsk{.gpus = "all", .cdi_devices = {}}, {"NVIDIA_REQUIRE_CUDA=cuda>>12"}},
  };
  for (const auto& [ask, env] : cases) {
    auto edit = planGpus(ask, env, rootfs, host());
    ASSERT_FALSE(edit) << ask.gpus;
    EXPECT_EQ(edit.error().message.find('\n'), std::string::npos) << edit.error().message;
    EXPECT_FALSE(edit.error().message.empty());
  }
}

TEST_F(FakeDriver, InfoAndCdiSpec) {
  auto info = gpuInfo(host());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->driver.version.str(), "550.54.14");
  ASSERT_TRUE(info->driver.cuda);
  EXPECT_EQ(info->driver.cuda->str(), "12.4");
  ASSERT_TRUE(info->nvml) << info->nvml_error;
  EXPECT_EQ(info->nvml->gpus.size(), 2u);
  auto spec = generateCdi(host());
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->kind, "nvidia.com/gpu");
}

}  // namespace
}  // namespace hull::engine
