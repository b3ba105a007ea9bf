#include "gpu/nvml.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace hull::gpu {
namespace {

// NVML and libcuda from a fake driver root (tests/fakes/nvidia-driver): gcc, no root needed.
class NvmlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("command -v gcc >/dev/null") != 0) return;
    root_ = ::testing::TempDir() + "/nvml-fake-root-" + std::to_string(::getpid());
    std::string cmd = std::string(HULL_SOURCE_DIR) + "/tests/fakes/nvidia-driver/make-root.sh " +
                      root_ + " --gpus 3 --cuda-int 12050 --no-nodes";
    if (std::system(cmd.c_str()) != 0) root_.clear();
  }
  static void TearDownTestSuite() {
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }
  void SetUp() override {
    if (root_.empty()) GTEST_SKIP() << "no fake driver root (gcc missing?)";
  }
  static std::string lib(const std::string& name) {
    return root_ + "/usr/lib/x86_64-linux-gnu/" + name;
  }
  static inline std::string root_;
};

TEST_F(NvmlTest, ReadsDriverAndGpus) {
  auto info = queryNvml(lib("libnvidia-ml.so.1"));
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->driver_version, "550.54.14");
  EXPECT_EQ(info->cuda.str(), "12.5");
  ASSERT_EQ(info->gpus.size(), 3u);
  for (int i = 0; i < 3; i++) {
    const NvmlGpu& g = info->gpus[static_cast<size_t>(i)];
    EXPECT_EQ(g.index, i);
    EXPECT_EQ(g.minor, i);
    EXPECT_EQ(g.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(g.uuid, "GPU-8c4b1a3e-0d2f-4e6a-9b7c-5f1e2d3c4b0" + std::to_string(i));
    EXPECT_EQ(g.brand, "nvidia");
    EXPECT_EQ(g.memory_total, 85520809984u);
    EXPECT_EQ(g.compute_capability.str(), "9.0");
    EXPECT_EQ(g.pci_bus_id, "00000000:0" + std::to_string(i + 1) + ":00.0");
  }
}

TEST_F(NvmlTest, CanBeQueriedTwice) {
  // Init and shutdown pair up: a second query starts from a clean library state.
  ASSERT_TRUE(queryNvml(lib("libnvidia-ml.so.1")).has_value());
  ASSERT_TRUE(queryNvml(lib("libnvidia-ml.so.550.54.14")).has_value());
}

TEST_F(NvmlTest, LibcudaVersion) {
  auto v = queryLibcudaVersion(lib("libcuda.so.1"));
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->str(), "12.5");
  auto old = queryLibcudaVersion(lib("libcuda.so.470.1"));
  ASSERT_TRUE(old.has_value()) << old.error().message;
  EXPECT_EQ(old->str(), "11.4");
}

TEST_F(NvmlTest, MissingLibraryOrSymbol) {
  auto missing = queryNvml(lib("libnvidia-ml.so.999"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_TRUE(missing.error().message.starts_with("cannot load " + lib("libnvidia-ml.so.999")))
      << missing.error().message;
  auto nosym = queryNvml(lib("libnvidia-cfg.so.1"));
  ASSERT_FALSE(nosym.has_value());
  EXPECT_EQ(nosym.error().message, lib("libnvidia-cfg.so.1") + " has no symbol nvmlErrorString");
  auto nocuda = queryLibcudaVersion(lib("libnvidia-ml.so.1"));
  ASSERT_FALSE(nocuda.has_value());
  EXPECT_EQ(nocuda.error().message, lib("libnvidia-ml.so.1") + " has no symbol cuDriverGetVersion");
}

TEST_F(NvmlTest, NotASharedLibrary) {
  auto r = queryNvml(root_ + "/usr/bin/nvidia-smi");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace hull::gpu
