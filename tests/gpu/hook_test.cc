#include "gpu/hook.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/runtime_spec.h"

namespace hull::gpu {
namespace {

namespace fs = std::filesystem;

const std::string kLibDir = "/usr/lib/x86_64-linux-gnu";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  ::pclose(f);
  return out;
}

// A bundle whose rootfs holds libfoo.so.1.2.3 (soname libfoo.so.1), built here with gcc.
class LdcacheHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (chroot)";
    if (!fs::exists("/sbin/ldconfig")) GTEST_SKIP() << "needs /sbin/ldconfig";
    std::string tmpl = (fs::temp_directory_path() / "hull-hook-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    bundle_ = dir_ / "bundle";
    rootfs_ = bundle_ / "rootfs";
    fs::create_directories(rootfs_ / ("." + kLibDir));
    oci::RuntimeSpec spec;
    spec.root.path = "rootfs";
    std::ofstream(bundle_ / "config.json") << oci::serialize(spec);
    lib_ = rootfs_ / ("." + kLibDir) / "libfoo.so.1.2.3";
    if (!buildLib(lib_)) GTEST_SKIP() << "needs gcc";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static bool buildLib(const fs::path& out) {
    std::string cmd =
        "echo 'int foo(void){return 1;}' | gcc -shared -fPIC -x c - "
        "-Wl,-soname,libfoo.so.1 -o '" +
        out.string() + "' 2>/dev/null";
    return std::system(cmd.c_str()) == 0;
  }

  void copyImageLdconfig() {
    fs::create_directories(rootfs_ / "sbin");
    fs::copy_file("/sbin/ldconfig", rootfs_ / "sbin/ldconfig");
  }

  std::string state() const {
    return R"({"ociVersion":"1.0.2","pid":0,"bundle":")" + bundle_.string() + "\"}";
  }

  Result<void> hook(std::vector<std::string> folders, std::string ldconfig = {}) {
    LdcacheHookOptions o;
    o.folders = std::move(folders);
    o.ldconfig = std::move(ldconfig);
    return runLdcacheHook(o, state());
  }

  fs::path dir_, bundle_, rootfs_, lib_;
};

TEST_F(LdcacheHookTest, ImageLdconfigMakesLinksConfAndCache) {
  copyImageLdconfig();
  auto r = hook({kLibDir});
  ASSERT_TRUE(r) << r.error().message;
  const auto libdir = rootfs_ / ("." + kLibDir);
  ASSERT_TRUE(fs::is_symlink(libdir / "libfoo.so.1"));
  EXPECT_EQ(fs::read_symlink(libdir / "libfoo.so.1"), "libfoo.so.1.2.3");
  EXPECT_EQ(slurp(rootfs_ / "etc/ld.so.conf.d/000-hull-gpu.conf"), kLibDir + "\n");
  EXPECT_EQ(slurp(rootfs_ / "etc/ld.so.conf"), "include /etc/ld.so.conf.d/*.conf\n");
  ASSERT_TRUE(fs::exists(rootfs_ / "etc/ld.so.cache"));
  auto listing = run("/sbin/ldconfig -p -C '" + (rootfs_ / "etc/ld.so.cache").string() + "'");
  EXPECT_NE(listing.find("libfoo.so.1"), std::string::npos) << listing;
}

TEST_F(LdcacheHookTest, HostLdconfigWhenImageHasNone) {
  fs::create_directories(rootfs_ / "etc");
  std::ofstream(rootfs_ / "etc/ld.so.conf") << "# the image's own\n";
  auto r = hook({"/usr/local/cuda/compat", kLibDir}, "/sbin/ldconfig");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(slurp(rootfs_ / "etc/ld.so.conf.d/000-hull-gpu.conf"),
            "/usr/local/cuda/compat\n" + kLibDir + "\n");
  EXPECT_EQ(slurp(rootfs_ / "etc/ld.so.conf"), "# the image's own\n");  // left alone
  auto listing = run("/sbin/ldconfig -p -C '" + (rootfs_ / "etc/ld.so.cache").string() + "'");
  // The image's ld.so.conf does not include ld.so.conf.d; the folders reach the cache anyway.
  EXPECT_NE(listing.find("libfoo.so.1"), std::string::npos) << listing;
}

TEST_F(LdcacheHookTest, DevLinksForCudaAndNvml) {
  const auto libdir = rootfs_ / ("." + kLibDir);
  fs::create_symlink("libcuda.so.550.54.14", libdir / "libcuda.so.1");
  fs::create_symlink("libnvidia-ml.so.550.54.14", libdir / "libnvidia-ml.so.1");
  auto r = hook({kLibDir}, "/nonexistent/ldconfig");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(fs::read_symlink(libdir / "libcuda.so"), "libcuda.so.1");
  EXPECT_EQ(fs::read_symlink(libdir / "libnvidia-ml.so"), "libnvidia-ml.so.1");
  EXPECT_FALSE(fs::exists(libdir / "libnvidia-opticalflow.so"));
  EXPECT_TRUE(fs::is_symlink(libdir / "libfoo.so.1"));
  EXPECT_FALSE(fs::exists(rootfs_ / "etc/ld.so.cache"));  // no ldconfig anywhere: links only
}

TEST_F(LdcacheHookTest, ExistingLinkIsKept) {
  const auto libdir = rootfs_ / ("." + kLibDir);
  fs::create_symlink("elsewhere.so", libdir / "libfoo.so.1");
  auto r = hook({kLibDir}, "/nonexistent/ldconfig");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(fs::read_symlink(libdir / "libfoo.so.1"), "elsewhere.so");
}

TEST_F(LdcacheHookTest, FifoNamedLikeALibraryDoesNotHang) {
  const auto libdir = rootfs_ / ("." + kLibDir);
  ASSERT_EQ(::mkfifo((libdir / "libfifo.so.1.0").c_str(), 0644), 0);
  auto r = hook({kLibDir}, "/nonexistent/ldconfig");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(fs::is_symlink(libdir / "libfoo.so.1"));
}

TEST_F(LdcacheHookTest, FolderSymlinkedOutOfTheRootfsStaysInside) {
  const auto outside = dir_ / "outside";
  fs::create_directories(outside);
  ASSERT_TRUE(buildLib(outside / "libfoo.so.1.2.3"));
  fs::create_symlink(outside, rootfs_ / "usr/lib/evil");  // absolute: a host path
  fs::create_symlink("../../../../..", rootfs_ / "usr/lib/up");
  auto r = hook({"/usr/lib/evil", "/usr/lib/up" + outside.string()}, "/nonexistent/ldconfig");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists(fs::symlink_status(outside / "libfoo.so.1")));
}

TEST_F(LdcacheHookTest, EtcSymlinkedOutOfTheRootfsIsNotWritten) {
  const auto host_etc = dir_ / "hostetc";
  fs::create_directories(host_etc / "ld.so.conf.d");
  fs::create_symlink(host_etc, rootfs_ / "etc");
  auto r = hook({kLibDir}, "/nonexistent/ldconfig");
  EXPECT_FALSE(r);
  EXPECT_FALSE(fs::exists(host_etc / "ld.so.conf.d/000-hull-gpu.conf"));
  EXPECT_FALSE(fs::exists(host_etc / "ld.so.conf"));
}

TEST_F(LdcacheHookTest, ConfSymlinkIsReplacedNotFollowed) {
  const auto target = dir_ / "victim";
  std::ofstream(target) << "keep\n";
  fs::create_directories(rootfs_ / "etc/ld.so.conf.d");
  fs::create_symlink(target, rootfs_ / "etc/ld.so.conf.d/000-hull-gpu.conf");
  auto r = hook({kLibDir}, "/nonexistent/ldconfig");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(slurp(target), "keep\n");
  EXPECT_FALSE(fs::is_symlink(rootfs_ / "etc/ld.so.conf.d/000-hull-gpu.conf"));
}

TEST_F(LdcacheHookTest, FailingLdconfigIsAnError) {
  copyImageLdconfig();
  fs::create_directories(rootfs_ / "etc/ld.so.cache");  // ldconfig cannot replace a directory
  auto r = hook({kLibDir});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("ldconfig exited with status 1: "))
      << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
}

TEST_F(LdcacheHookTest, ReadOnlyRootfsIsNamed) {
  const std::string root = rootfs_.string();
  ASSERT_EQ(::mount(root.c_str(), root.c_str(), nullptr, MS_BIND, nullptr), 0);
  int ro = ::mount(nullptr, root.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr);
  auto r = ro == 0 ? hook({kLibDir}, "/nonexistent/ldconfig") : Result<void>{};
  ::umount2(root.c_str(), MNT_DETACH);
  ASSERT_EQ(ro, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cannot write symlink " + kLibDir + "/libfoo.so.1: the rootfs " +
                                   root + " is read-only");
}

// The driver's files are mounted in the container's mount namespace only: the hook must enter
// it. A child in a new mount namespace bind-mounts a library folder; a second child runs the hook
// with the first one's pid.
TEST_F(LdcacheHookTest, EntersTheContainersMountNamespace) {
  const auto injected = dir_ / "injected";
  fs::create_directories(injected);
  fs::create_directories(rootfs_ / "usr/lib/nvidia");
  fs::rename(lib_, injected / "libfoo.so.1.2.3");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const std::string src = injected.string();
  const std::string dst = (rootfs_ / "usr/lib/nvidia").string();
  pid_t container = ::fork();
  ASSERT_GE(container, 0);
  if (container == 0) {
    bool ok = ::unshare(CLONE_NEWNS) == 0 &&
              ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
              ::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) == 0;
    char c = ok ? '1' : '0';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  std::string state_json =
      R"({"pid":)" + std::to_string(container) + R"(,"bundle":")" + bundle_.string() + "\"}";
  pid_t hook_pid = ::fork();
  if (hook_pid == 0) {
    LdcacheHookOptions o;
    o.folders = {"/usr/lib/nvidia"};
    o.ldconfig = "/nonexistent/ldconfig";
    ::_exit(runLdcacheHook(o, state_json) ? 0 : 1);
  }
  int status = -1;
  ::waitpid(hook_pid, &status, 0);
  ::kill(container, SIGKILL);
  ::waitpid(container, nullptr, 0);
  ASSERT_EQ(c, '1') << "could not set up the mount namespace";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(fs::is_symlink(injected / "libfoo.so.1"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(rootfs_ / "usr/lib/nvidia/libfoo.so.1")));
}

TEST(LdcacheHookStateTest, BadState) {
  LdcacheHookOptions o;
  auto bad = [&](std::string_view state) {
    auto r = runLdcacheHook(o, state);
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(bad(R"({"pid":1})"), "container state: no \"bundle\"");
  EXPECT_EQ(bad(R"([])"), "container state: no \"bundle\"");
  EXPECT_EQ(bad(R"({"bundle":"/x","pid":-1})"), "container state: bad \"pid\"");
  EXPECT_EQ(bad(R"({"bundle":"/x","pid":"1"})"), "container state: bad \"pid\"");
  EXPECT_TRUE(bad("{").starts_with("container state")) << bad("{");
  EXPECT_TRUE(bad(R"({"bundle":"/nonexistent-bundle"})").find("config.json") != std::string::npos);
}

}  // namespace
}  // namespace hull::gpu
