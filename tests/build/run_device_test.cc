// RUN --device through the builder: the executor is asked for the devices, they are part of the
// step's cache key, and what the executor warns about lands in the build's warnings.
#include <stdlib.h>

#include <gtest/gtest.h>

#include "build/build.h"
#include "fake_executor.h"

namespace hull::build {
namespace {

// Says, for every step that asks for a device, that the device is missing.
class WarningExecutor : public testing::FakeExecutor {
 public:
  using FakeExecutor::FakeExecutor;
  Result<int> run(Mounted& root, const RunRequest& r) override {
    for (const auto& d : r.devices) {
      if (!d.required && r.warn) r.warn("optional device " + d.name + " is not available");
    }
    return FakeExecutor::run(root, r);
  }
};

class Warnings : public Progress {
 public:
  void warning(const std::string& w) override {
    std::lock_guard lock(mu);
    seen.push_back(w);
  }
  void stepCached(const StepEvent& e) override {
    std::lock_guard lock(mu);
    cached.push_back(e.text);
  }
  std::mutex mu;
  std::vector<std::string> seen, cached;
};

class RunDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hull-run-device-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = store::Store::open(dir_ / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    exec_ = std::make_unique<WarningExecutor>(*store_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Result<BuildResult> run(const std::string& dockerfile) {
    BuildOptions o;
    o.dockerfile = dockerfile;
    ImageResolver none = [](std::string_view ref) -> Result<BaseImage> {
      return fail(Errc::kNotFound, "no image " + std::string(ref));
    };
    return build(*store_, *exec_, none, o, &progress_);
  }

  fs::path dir_;
  std::optional<store::Store> store_;
  std::unique_ptr<WarningExecutor> exec_;
  Warnings progress_;
};

TEST_F(RunDeviceTest, TheExecutorIsAskedForTheDevices) {
  auto r =
      run("FROM scratch\nRUN --device=nvidia.com/gpu=all --device=x.com/y=z,required touch a\n"
          "RUN touch b\n");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(exec_->requests.size(), 2u);
  EXPECT_EQ(exec_->requests[0].devices,
            (std::vector<RunDevice>{{"nvidia.com/gpu=all", false}, {"x.com/y=z", true}}));
  EXPECT_TRUE(exec_->requests[1].devices.empty());
}

TEST_F(RunDeviceTest, DevicesArePartOfTheCacheKey) {
  ASSERT_TRUE(run("FROM scratch\nRUN touch a\n"));
  auto r = run("FROM scratch\nRUN --device=nvidia.com/gpu=all touch a\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->cached, 0) << "a step with a device is another step";
  r = run("FROM scratch\nRUN --device=nvidia.com/gpu=0 touch a\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->cached, 0) << "another device, another step";
  r = run("FROM scratch\nRUN --device=nvidia.com/gpu=0,required touch a\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->cached, 0) << "required is part of the step";
  r = run("FROM scratch\nRUN --device=name=nvidia.com/gpu=0,required=true touch a\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->cached, 1) << "the same device, written another way";
  EXPECT_EQ(exec_->requests.size(), 4u);
}

TEST_F(RunDeviceTest, ExecutorWarningsAreTheBuildsWarnings) {
  auto r = run("FROM scratch\nRUN --device=nvidia.com/gpu=all touch a\n");
  ASSERT_TRUE(r) << r.error().message;
  const std::string w = "Dockerfile:2: optional device nvidia.com/gpu=all is not available";
  EXPECT_EQ(r->warnings, std::vector<std::string>{w});
  EXPECT_EQ(progress_.seen, std::vector<std::string>{w});
}

}  // namespace
}  // namespace hull::build
