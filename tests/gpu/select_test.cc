#include "gpu/select.h"

#include <gtest/gtest.h>

namespace hull::gpu {
namespace {

using C = Capability;

std::string parseError(std::string_view value) {
  auto r = parseGpusFlag(value);
  return r ? "ok" : r.error().message;
}

TEST(ParseGpusFlagTest, DockerForms) {
  auto all = parseGpusFlag("all");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(all->all);
  EXPECT_FALSE(all->count);

  auto two = parseGpusFlag("2");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->count, 2);

  auto count = parseGpusFlag("count=3,capabilities=compute,driver=nvidia");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->count, 3);
  EXPECT_EQ(count->caps, (std::set<C>{C::kCompute}));

  auto quoted = parseGpusFlag("\"device=0,2\"");
  ASSERT_TRUE(quoted) << quoted.error().message;
  EXPECT_EQ(quoted->ids, (std::vector<std::string>{"0", "2"}));
  EXPECT_FALSE(quoted->count);

  auto uuid = parseGpusFlag("device=GPU-9f6f2d5a-aaaa-bbbb-cccc-0123456789ab");
  ASSERT_TRUE(uuid);
  EXPECT_EQ(uuid->ids, (std::vector<std::string>{"GPU-9f6f2d5a-aaaa-bbbb-cccc-0123456789ab"}));

  auto mixed = parseGpusFlag("all,\"capabilities=utility,video,gpu\"");
  ASSERT_TRUE(mixed) << mixed.error().message;
  EXPECT_TRUE(mixed->all);
  EXPECT_EQ(mixed->caps, (std::set<C>{C::kUtility, C::kVideo}));

  auto every = parseGpusFlag("all,capabilities=all");
  ASSERT_TRUE(every) << every.error().message;
  EXPECT_EQ(every->caps, (std::set<C>{C::kCompute, C::kCompat32, C::kGraphics, C::kUtility,
                                      C::kVideo, C::kDisplay}));
}

TEST(ParseGpusFlagTest, NoCountOrDevicesMeansOneGpu) {
  auto caps = parseGpusFlag("capabilities=utility");
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->count, 1);
  auto driver = parseGpusFlag("driver=nvidia");
  ASSERT_TRUE(driver);
  EXPECT_EQ(driver->count, 1);
  auto zero = parseGpusFlag("0");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->count, 0);
}

TEST(ParseGpusFlagTest, CsvQuoting) {
  auto escaped = parseGpusFlag("\"device=0\",\"capabilities=compute\"");
  ASSERT_TRUE(escaped) << escaped.error().message;
  EXPECT_EQ(escaped->ids, (std::vector<std::string>{"0"}));
  EXPECT_EQ(parseError("\"device=0,1"),
            "invalid --gpus value '\"device=0,1': missing closing quote");
  EXPECT_EQ(parseError("\"device=0\"x"),
            "invalid --gpus value '\"device=0\"x': text after a closing quote");
  EXPECT_EQ(parseError("device=0\"1\""),
            "invalid --gpus value 'device=0\"1\"': a quote inside an unquoted field");
}

TEST(ParseGpusFlagTest, BadValues) {
  EXPECT_EQ(parseError(""), "invalid --gpus value \"\": empty");
  EXPECT_EQ(parseError("two"),
            "invalid --gpus value \"two\": count \"two\" must be \"all\" or a number");
  EXPECT_EQ(parseError("-1"),
            "invalid --gpus value \"-1\": count \"-1\" must be \"all\" or a number");
  EXPECT_EQ(parseError("99999999999"),
            "invalid --gpus value \"99999999999\": count \"99999999999\" must be \"all\" or a "
            "number");
  EXPECT_EQ(parseError("1,"), "invalid --gpus value \"1,\": empty field");
  EXPECT_EQ(parseError("device="), "invalid --gpus value \"device=\": empty device id");
  EXPECT_EQ(parseError("\"device=0,,1\""),
            "invalid --gpus value '\"device=0,,1\"': empty device id");
  EXPECT_EQ(parseError("2,count=3"),
            "invalid --gpus value \"2,count=3\": \"count\" is given twice");
  EXPECT_EQ(parseError("2,device=0"),
            "invalid --gpus value \"2,device=0\": a count and device ids cannot be given together");
  EXPECT_EQ(parseError("capabilities=compute,capabilities=utility"),
            "invalid --gpus value \"capabilities=compute,capabilities=utility\": \"capabilities\" "
            "is given twice");
  EXPECT_EQ(parseError("capabilities=warp"),
            "invalid --gpus value \"capabilities=warp\": unknown capability \"warp\" (known: "
            "compute, compat32, display, graphics, utility, video)");
  EXPECT_EQ(parseError("driver=amd"),
            "invalid --gpus value \"driver=amd\": driver \"amd\" is not supported (only "
            "\"nvidia\")");
  EXPECT_EQ(parseError("options=a=b"),
            "invalid --gpus value \"options=a=b\": driver options are not supported");
  EXPECT_EQ(parseError("colour=red"),
            "invalid --gpus value \"colour=red\": unknown key \"colour\"");
  EXPECT_EQ(parseError("all\n2"), "invalid --gpus value \"all\n2\": line breaks are not allowed");
}

Driver twoGpus() {
  Driver d;
  for (int i = 0; i < 2; ++i) {
    Gpu gpu;
    gpu.index = i;
    gpu.minor = i;
    gpu.uuid = "GPU-0000000" + std::to_string(i);
    d.gpus.push_back(gpu);
  }
  return d;
}

Selection mustSelect(const Driver& d, std::string_view flag, std::vector<std::string> env = {}) {
  auto req = parseGpusFlag(flag);
  EXPECT_TRUE(req) << req.error().message;
  auto sel = selectGpus(d, *req, env);
  EXPECT_TRUE(sel) << sel.error().message;
  return sel ? *sel : Selection{};
}

std::string selectError(const Driver& d, std::string_view flag, std::vector<std::string> env = {}) {
  auto req = parseGpusFlag(flag);
  if (!req) return req.error().message;
  auto sel = selectGpus(d, *req, env);
  return sel ? "ok" : sel.error().message;
}

TEST(SelectGpusTest, RequestForms) {
  const auto d = twoGpus();
  auto all = mustSelect(d, "all");
  EXPECT_EQ(all.gpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(all.visible_devices, "all");
  EXPECT_TRUE(all.inject_driver);
  EXPECT_EQ(all.caps, (std::set<C>{C::kUtility, C::kCompute}));

  auto one = mustSelect(d, "1");
  EXPECT_EQ(one.gpus, (std::vector<int>{0}));
  EXPECT_EQ(one.visible_devices, "0");

  auto by_id = mustSelect(d, "\"device=1,GPU-00000000,1\"");
  EXPECT_EQ(by_id.gpus, (std::vector<int>{1, 0}));
  EXPECT_EQ(by_id.visible_devices, "1,0");

  auto caps = mustSelect(d, "all,capabilities=video", {"NVIDIA_DRIVER_CAPABILITIES=compute"});
  EXPECT_EQ(caps.caps, (std::set<C>{C::kVideo}));  // the flag wins over the image

  auto none = mustSelect(d, "0");
  EXPECT_FALSE(none.inject_driver);
  EXPECT_TRUE(none.gpus.empty());
}

TEST(SelectGpusTest, Errors) {
  const auto d = twoGpus();
  EXPECT_EQ(selectError(d, "4"), "--gpus 4: this host has 2 GPUs");
  Driver one = d;
  one.gpus.pop_back();
  EXPECT_EQ(selectError(one, "4"), "--gpus 4: this host has 1 GPU");
  EXPECT_EQ(selectError(Driver{}, "all"), "--gpus all: this host has no GPUs");
  EXPECT_EQ(selectError(d, "device=3"), "--gpus device=3: no GPU 3 (this host has GPUs 0-1)");
  EXPECT_EQ(selectError(one, "device=GPU-1"),
            "--gpus device=GPU-1: no GPU GPU-1 (this host has GPU 0)");
  // A UUID prefix is not a UUID.
  EXPECT_EQ(selectError(d, "device=GPU-0000"),
            "--gpus device=GPU-0000: no GPU GPU-0000 (this host has GPUs 0-1)");
}

TEST(SelectGpusTest, VisibleDevicesNarrows) {
  const auto d = twoGpus();
  auto narrowed = mustSelect(d, "all", {"NVIDIA_VISIBLE_DEVICES=all", "NVIDIA_VISIBLE_DEVICES=1"});
  EXPECT_EQ(narrowed.gpus, (std::vector<int>{1}));
  EXPECT_EQ(narrowed.visible_devices, "1");

  auto by_uuid = mustSelect(d, "all", {"NVIDIA_VISIBLE_DEVICES=GPU-00000001"});
  EXPECT_EQ(by_uuid.gpus, (std::vector<int>{1}));

  auto all = mustSelect(d, "1", {"NVIDIA_VISIBLE_DEVICES=all"});
  EXPECT_EQ(all.gpus, (std::vector<int>{0}));
  EXPECT_EQ(all.visible_devices, "0");

  auto none = mustSelect(d, "all", {"NVIDIA_VISIBLE_DEVICES=none"});
  EXPECT_TRUE(none.gpus.empty());
  EXPECT_TRUE(none.inject_driver);
  EXPECT_EQ(none.visible_devices, "none");

  for (const char* v : {"NVIDIA_VISIBLE_DEVICES=void", "NVIDIA_VISIBLE_DEVICES="}) {
    auto vd = mustSelect(d, "all", {v});
    EXPECT_FALSE(vd.inject_driver) << v;
    EXPECT_EQ(vd.visible_devices, "void");
  }

  EXPECT_EQ(selectError(d, "1", {"NVIDIA_VISIBLE_DEVICES=1"}),
            "NVIDIA_VISIBLE_DEVICES=1: GPU 1 is not among the GPUs given with --gpus");
  EXPECT_EQ(selectError(d, "all", {"NVIDIA_VISIBLE_DEVICES=0,7"}),
            "NVIDIA_VISIBLE_DEVICES=0,7: no GPU 7 (this host has GPUs 0-1)");
  EXPECT_EQ(selectError(d, "all", {"NVIDIA_VISIBLE_DEVICES=0,"}),
            "NVIDIA_VISIBLE_DEVICES=0,: no GPU  (this host has GPUs 0-1)");
}

TEST(SelectGpusTest, DriverCapabilitiesFromEnv) {
  const auto d = twoGpus();
  auto unset = mustSelect(d, "all", {"NVIDIA_DRIVER_CAPABILITIES="});
  EXPECT_EQ(unset.caps, (std::set<C>{C::kUtility, C::kCompute}));

  auto req = parseGpusFlag("all");
  ASSERT_TRUE(req);
  // Parsed by parseCapabilities; only checked once that is available.
  if (!parseCapabilities("video")) GTEST_SKIP() << "parseCapabilities not available";
  auto video = mustSelect(d, "all", {"NVIDIA_DRIVER_CAPABILITIES=video,utility"});
  EXPECT_EQ(video.caps, (std::set<C>{C::kVideo, C::kUtility}));
  auto every = mustSelect(d, "all", {"NVIDIA_DRIVER_CAPABILITIES=all"});
  EXPECT_TRUE(every.caps.count(C::kGraphics));
  auto bad = selectGpus(d, *req, {"NVIDIA_DRIVER_CAPABILITIES=warp"});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("NVIDIA_DRIVER_CAPABILITIES=warp: "))
      << bad.error().message;
}

}  // namespace
}  // namespace hull::gpu
