#include "gpu/compat.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace hull::gpu {
namespace {

using testing::ver;

TEST(GpuCompat, PicksTheNewestLibcudaOfANewerBranch) {
  std::vector<std::string> names = {"libcuda.so",
                                    "libcuda.so.1",
                                    "libcuda.so.550.54.15",
                                    "libcuda.so.560.35.03",
                                    "libnvidia-ptxjitcompiler.so.560.35.03",
                                    "libnvidia-nvvm.so.4"};
  auto compat = usableCompatLibs(names, ver("535.104.05"));
  ASSERT_TRUE(compat);
  EXPECT_EQ(compat->dir, "/usr/local/cuda/compat");
  EXPECT_EQ(compat->driver.str(), "560.35.03");
  ASSERT_TRUE(compat->cuda);
  EXPECT_EQ(compat->cuda->str(), "12.6");
}

TEST(GpuCompat, UsableOnlyWhenTheMajorIsNewerThanTheHosts) {
  std::vector<std::string> names = {"libcuda.so.1", "libcuda.so.560.35.03"};
  EXPECT_TRUE(usableCompatLibs(names, ver("550.127.05")));
  EXPECT_FALSE(usableCompatLibs(names, ver("560.28.03"))) << "same major";
  EXPECT_FALSE(usableCompatLibs(names, ver("560.35.03"))) << "same version";
  EXPECT_FALSE(usableCompatLibs(names, ver("570.26"))) << "host newer";
  EXPECT_TRUE(usableCompatLibs(names, ver("470.82.01")));
}

TEST(GpuCompat, IgnoresJunkNames) {
  std::vector<std::string> junk = {"",
                                   "libcuda.so",
                                   "libcuda.so.1",
                                   "libcuda.so.",
                                   "libcuda.so.abc",
                                   "libcuda.so.560..1",
                                   "libcuda.so.560.35.03.1.2",
                                   "libcuda.so.560.35.03 ",
                                   "libcuda.so.560.35.03.bak",
                                   "libcuda.so.-560.1",
                                   "xlibcuda.so.560.35.03",
                                   "LIBCUDA.SO.560.35.03",
                                   "../libcuda.so.560.35.03",
                                   "libcuda.so.99999999999.1"};
  EXPECT_FALSE(usableCompatLibs(junk, ver("535.104.05")));
  EXPECT_FALSE(usableCompatLibs({}, ver("535.104.05")));
  junk.push_back("libcuda.so.555.42.06");
  auto compat = usableCompatLibs(junk, ver("535.104.05"));
  ASSERT_TRUE(compat);
  EXPECT_EQ(compat->driver.str(), "555.42.06");
}

TEST(GpuCompat, CompatBeyondTheTableHasNoCuda) {
  auto compat = usableCompatLibs({"libcuda.so.999.1"}, ver("580.65.06"));
  ASSERT_TRUE(compat);
  EXPECT_EQ(compat->cuda->str(), "13.2");
  compat = usableCompatLibs({"libcuda.so.300.1"}, ver("200.1"));
  ASSERT_TRUE(compat);
  EXPECT_FALSE(compat->cuda);
}

HostFacts host(const char* driver, const char* cuda) { return {ver(driver), ver(cuda), {}}; }

TEST(GpuCompat, OkMessageNamesImageAndHostCuda) {
  auto r = checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>=12.2"}, host("550.54.14", "12.4"), {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->ok);
  EXPECT_FALSE(r->disabled);
  EXPECT_EQ(r->image_cuda->str(), "12.2");
  EXPECT_EQ(r->host_cuda->str(), "12.4");
  EXPECT_FALSE(r->needed_driver);
  EXPECT_EQ(r->message, "ok: CUDA 12.2 image, driver 550.54.14 (CUDA 12.4)");
}

TEST(GpuCompat, RefusalNamesTheFixes) {
  auto r = checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>=12.6"}, host("535.104.05", "12.2"), {});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->needed_driver->str(), "560.28.03");
  EXPECT_EQ(r->message,
            "image needs CUDA >= 12.6 (NVIDIA_REQUIRE_CUDA=cuda>=12.6), but host driver 535.104.05 "
            "supports CUDA <= 12.2: install driver >= 560.28.03, add the cuda-compat package to "
            "the image, or set NVIDIA_DISABLE_REQUIRE=1 to skip this check");
}

TEST(GpuCompat, CompatLibsRaiseTheCuda) {
  auto compat = usableCompatLibs({"libcuda.so.560.35.03"}, ver("535.104.05"));
  auto r =
      checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>=12.6"}, host("535.104.05", "12.2"), compat);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->host_cuda->str(), "12.2");
  EXPECT_EQ(r->message,
            "ok: CUDA 12.6 image, driver 535.104.05 (CUDA 12.2) with cuda-compat 560.35.03 "
            "(CUDA 12.6)");
}

TEST(GpuCompat, CompatLibsTooOldForTheImage) {
  auto compat = usableCompatLibs({"libcuda.so.560.35.03"}, ver("535.104.05"));
  auto r =
      checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>=12.8"}, host("535.104.05", "12.2"), compat);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->needed_driver->str(), "570.26");
  EXPECT_EQ(r->message,
            "image needs CUDA >= 12.8 (NVIDIA_REQUIRE_CUDA=cuda>=12.8), but host driver 535.104.05 "
            "supports CUDA <= 12.2 (CUDA <= 12.6 with the image's cuda-compat 560.35.03): install "
            "driver >= 570.26, use a newer cuda-compat package in the image, or set "
            "NVIDIA_DISABLE_REQUIRE=1 to skip this check");
}

TEST(GpuCompat, LegacyCudaVersion) {
  auto r = checkCompatibility({"CUDA_VERSION=12.4.1"}, host("535.104.05", "12.2"), {});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->image_cuda->str(), "12.4");
  EXPECT_EQ(r->message,
            "image needs CUDA >= 12.4 (CUDA_VERSION=12.4.1), but host driver 535.104.05 supports "
            "CUDA <= 12.2: install driver >= 550.54.14, add the cuda-compat package to the image, "
            "or set NVIDIA_DISABLE_REQUIRE=1 to skip this check");
}

TEST(GpuCompat, ImageCudaFallsBackToCudaVersion) {
  auto r = checkCompatibility({"CUDA_VERSION=12.4.1", "NVIDIA_REQUIRE_CUDA=driver>=500"},
                              host("550.54.14", "12.4"), {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->image_cuda->str(), "12.4");
}

TEST(GpuCompat, DisabledIsOkAndSaysSo) {
  auto r = checkCompatibility({"NVIDIA_DISABLE_REQUIRE=1", "NVIDIA_REQUIRE_CUDA=cuda>=13.0"},
                              host("535.104.05", "12.2"), {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_TRUE(r->disabled);
  EXPECT_EQ(r->image_cuda->str(), "13.0");
  EXPECT_EQ(r->message,
            "ok: NVIDIA_DISABLE_REQUIRE is set, requirements not checked; driver 535.104.05 "
            "(CUDA 12.2)");
}

TEST(GpuCompat, NoRequirement) {
  auto r = checkCompatibility({"PATH=/bin"}, host("550.54.14", "12.4"), {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_FALSE(r->image_cuda);
  EXPECT_EQ(r->message, "ok: image states no CUDA requirement, driver 550.54.14 (CUDA 12.4)");
}

TEST(GpuCompat, UnknownHostCudaComesFromTheTable) {
  HostFacts h{ver("550.54.14"), Version{}, {}};
  auto r = checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>=12.4"}, h, {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->message;
  EXPECT_EQ(r->host_cuda->str(), "12.4");
}

TEST(GpuCompat, CudaNewerThanTheTable) {
  auto r = checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>=14.0"}, host("580.65.06", "13.0"), {});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_FALSE(r->needed_driver);
  EXPECT_EQ(r->message,
            "image needs CUDA >= 14.0 (NVIDIA_REQUIRE_CUDA=cuda>=14.0), but host driver 580.65.06 "
            "supports CUDA <= 13.0: install a driver that runs CUDA 14.0, add the cuda-compat "
            "package to the image, or set NVIDIA_DISABLE_REQUIRE=1 to skip this check");
}

TEST(GpuCompat, OtherRequirementFailing) {
  auto r = checkCompatibility({"NVIDIA_REQUIRE_DRIVER=driver>=560"}, host("550.54.14", "12.4"), {});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->needed_driver->str(), "560");
  EXPECT_EQ(r->message,
            "image needs driver >= 560 (NVIDIA_REQUIRE_DRIVER=driver>=560), host driver 550.54.14 "
            "supports CUDA 12.4; driver >= 560 runs it; or set NVIDIA_DISABLE_REQUIRE=1 to skip "
            "this check");
}

TEST(GpuCompat, MalformedRequirementIsAnError) {
  auto r = checkCompatibility({"NVIDIA_REQUIRE_CUDA=cuda>>1"}, host("550.54.14", "12.4"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message,
            R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>>1": unknown operator ">>")");
}

}  // namespace
}  // namespace hull::gpu
