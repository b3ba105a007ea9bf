#include "gpu/require.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace hull::gpu {
namespace {

using testing::ver;

// The requirement string of NVIDIA's CUDA 11.8 images, cut to the Tesla branch alternatives.
constexpr const char* kTesla118 =
    "NVIDIA_REQUIRE_CUDA=cuda>=11.8 brand=tesla,driver>=450,driver<451 "
    "brand=tesla,driver>=470,driver<471";
constexpr const char* kTesla124 =
    "NVIDIA_REQUIRE_CUDA=cuda>=12.4 brand=tesla,driver>=470,driver<471 "
    "brand=tesla,driver>=525,driver<526 brand=tesla,driver>=535,driver<536";

struct CaseGpu {
  const char* brand;
  const char* arch;
};

struct Case {
  const char* name;
  std::vector<std::string> env;
  const char* driver;
  const char* cuda;
  std::vector<CaseGpu> gpus;
  bool ok;
  const char* needed = "";  // "" when no driver is named
  const char* failed = "";
};

HostFacts hostOf(const Case& c) {
  HostFacts host{ver(c.driver), ver(c.cuda), {}};
  for (const CaseGpu& gpu : c.gpus) host.gpus.push_back({ver(gpu.arch), gpu.brand});
  return host;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"cuda_met", {"NVIDIA_REQUIRE_CUDA=cuda>=12.4"}, "550.54.14", "12.4", {}, true},
      {"cuda_old_driver",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.4"},
       "535.104.05",
       "12.2",
       {},
       false,
       "550.54.14",
       "NVIDIA_REQUIRE_CUDA=cuda>=12.4"},
      {"cuda_12_6",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.6"},
       "535.104.05",
       "12.2",
       {},
       false,
       "560.28.03"},
      {"cuda_12_8", {"NVIDIA_REQUIRE_CUDA=cuda>=12.8"}, "560.35.03", "12.6", {}, false, "570.26"},
      {"cuda_13_0",
       {"NVIDIA_REQUIRE_CUDA=cuda>=13.0"},
       "575.51.03",
       "12.9",
       {},
       false,
       "580.65.06"},
      {"cuda_12_7_gap",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.7"},
       "560.35.03",
       "12.6",
       {},
       false,
       "570.26"},
      {"cuda_exact_minimum", {"NVIDIA_REQUIRE_CUDA=cuda>=12.2"}, "535.54.03", "12.2", {}, true},
      {"cuda_patch_needs_more",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.4.1"},
       "550.54.14",
       "12.4",
       {},
       false,
       "555.42.02"},
      {"cuda_newer_than_table", {"NVIDIA_REQUIRE_CUDA=cuda>=14.0"}, "580.65.06", "13.0", {}, false},
      {"cuda_gt", {"NVIDIA_REQUIRE_CUDA=cuda>12.4"}, "550.54.14", "12.4", {}, false, "555.42.02"},
      {"cuda_eq_met", {"NVIDIA_REQUIRE_CUDA=cuda=12.4"}, "550.54.14", "12.4", {}, true},
      {"cuda_eq_alias", {"NVIDIA_REQUIRE_CUDA=cuda==12.4"}, "550.54.14", "12.4", {}, true},
      {"cuda_eq_too_new", {"NVIDIA_REQUIRE_CUDA=cuda=12.4"}, "560.35.03", "12.6", {}, false},
      {"cuda_lt_unfixable", {"NVIDIA_REQUIRE_CUDA=cuda<12.0"}, "550.54.14", "12.4", {}, false},
      {"key_case", {"NVIDIA_REQUIRE_CUDA=CUDA>=12.0"}, "550.54.14", "12.4", {}, true},
      {"tesla_branch_ok", {kTesla118}, "470.82.01", "11.4", {{"tesla", "8.0"}}, true},
      {"tesla_branch_geforce",
       {kTesla118},
       "470.82.01",
       "11.4",
       {{"geforce", "8.6"}},
       false,
       "520.61.05"},
      {"tesla_branch_no_gpus", {kTesla118}, "470.82.01", "11.4", {}, true},
      {"tesla_older_branch", {kTesla118}, "460.32.03", "11.2", {{"tesla", "8.0"}}, false, "470"},
      {"geforce_older_branch",
       {kTesla118},
       "460.32.03",
       "11.2",
       {{"geforce", "7.5"}},
       false,
       "520.61.05"},
      {"tesla_mixed_gpus",
       {kTesla118},
       "470.82.01",
       "11.4",
       {{"tesla", "8.0"}, {"geforce", "8.6"}},
       false,
       "520.61.05"},
      {"tesla_124_on_535", {kTesla124}, "535.104.05", "12.2", {{"tesla", "9.0"}}, true},
      {"geforce_124_on_535",
       {kTesla124},
       "535.104.05",
       "12.2",
       {{"geforce", "8.9"}},
       false,
       "550.54.14"},
      {"double_space",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.4  brand=tesla,driver>=535,driver<536 "},
       "535.104.05",
       "12.2",
       {{"tesla", "9.0"}},
       true},
      {"driver_met", {"NVIDIA_REQUIRE_DRIVER=driver>=550.54.14"}, "550.54.14", "12.4", {}, true},
      {"driver_old",
       {"NVIDIA_REQUIRE_DRIVER=driver>=560"},
       "550.54.14",
       "12.4",
       {},
       false,
       "560",
       "NVIDIA_REQUIRE_DRIVER=driver>=560"},
      {"driver_upper_bound", {"NVIDIA_REQUIRE_DRIVER=driver<500"}, "550.54.14", "12.4", {}, false},
      {"driver_gt_unnamed", {"NVIDIA_REQUIRE_DRIVER=driver>560"}, "550.54.14", "12.4", {}, false},
      {"cuda_and_driver",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.4,driver>=555"},
       "550.54.14",
       "12.4",
       {},
       false,
       "555"},
      {"cuda_and_cap",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.0,driver<530"},
       "535.104.05",
       "12.2",
       {},
       false},
      {"cheapest_alternative",
       {"NVIDIA_REQUIRE_CUDA=driver>=525,driver<526 cuda>=12.2"},
       "520.61.05",
       "11.8",
       {},
       false,
       "525"},
      {"arch_all_match",
       {"NVIDIA_REQUIRE_ARCH=arch>=8.0"},
       "550.54.14",
       "12.4",
       {{"tesla", "8.0"}, {"tesla", "9.0"}},
       true},
      {"arch_one_short",
       {"NVIDIA_REQUIRE_ARCH=arch>=8.0"},
       "550.54.14",
       "12.4",
       {{"tesla", "7.5"}, {"tesla", "9.0"}},
       false,
       "",
       "NVIDIA_REQUIRE_ARCH=arch>=8.0"},
      {"arch_no_gpus", {"NVIDIA_REQUIRE_ARCH=arch>=8.0"}, "550.54.14", "12.4", {}, true},
      {"arch_short_form",
       {"NVIDIA_REQUIRE_ARCH=arch=8.0"},
       "550.54.14",
       "12.4",
       {{"tesla", "8"}},
       true},
      {"brand_ne",
       {"NVIDIA_REQUIRE_BRAND=brand!=geforce"},
       "550.54.14",
       "12.4",
       {{"geforce", "8.6"}},
       false},
      {"brand_case",
       {"NVIDIA_REQUIRE_BRAND=brand=Tesla"},
       "550.54.14",
       "12.4",
       {{"tesla", "8.0"}},
       true},
      {"legacy_met", {"CUDA_VERSION=12.4.1"}, "550.54.14", "12.4", {}, true},
      {"legacy_old",
       {"CUDA_VERSION=12.4.1"},
       "535.104.05",
       "12.2",
       {},
       false,
       "550.54.14",
       "CUDA_VERSION=12.4.1"},
      {"legacy_ignored",
       {"CUDA_VERSION=12.6.0", "NVIDIA_REQUIRE_CUDA=cuda>=11.0"},
       "535.104.05",
       "12.2",
       {},
       true},
      {"legacy_empty_require",
       {"CUDA_VERSION=12.6", "NVIDIA_REQUIRE_CUDA="},
       "535.104.05",
       "12.2",
       {},
       false,
       "560.28.03",
       "CUDA_VERSION=12.6"},
      {"legacy_with_driver_req",
       {"CUDA_VERSION=12.2.0", "NVIDIA_REQUIRE_DRIVER=driver>=555"},
       "550.54.14",
       "12.4",
       {},
       false,
       "555"},
      {"disable_1",
       {"NVIDIA_DISABLE_REQUIRE=1", "NVIDIA_REQUIRE_CUDA=cuda>=13.0"},
       "535.104.05",
       "12.2",
       {},
       true},
      {"disable_true",
       {"NVIDIA_DISABLE_REQUIRE=true", "CUDA_VERSION=13.0"},
       "535.104.05",
       "12.2",
       {},
       true},
      {"disable_True",
       {"NVIDIA_DISABLE_REQUIRE=True", "CUDA_VERSION=13.0"},
       "535.104.05",
       "12.2",
       {},
       true},
      {"disable_T",
       {"NVIDIA_DISABLE_REQUIRE=T", "CUDA_VERSION=13.0"},
       "535.104.05",
       "12.2",
       {},
       true},
      {"disable_yes_is_not_true",
       {"NVIDIA_DISABLE_REQUIRE=yes", "CUDA_VERSION=13.0"},
       "535.104.05",
       "12.2",
       {},
       false,
       "580.65.06"},
      {"disable_0",
       {"NVIDIA_DISABLE_REQUIRE=0", "CUDA_VERSION=13.0"},
       "535.104.05",
       "12.2",
       {},
       false,
       "580.65.06"},
      {"disable_empty",
       {"NVIDIA_DISABLE_REQUIRE=", "CUDA_VERSION=13.0"},
       "535.104.05",
       "12.2",
       {},
       false,
       "580.65.06"},
      {"two_vars_second_fails",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.0", "NVIDIA_REQUIRE_DRIVER=driver>=555"},
       "550.54.14",
       "12.4",
       {},
       false,
       "555"},
      {"later_entry_wins",
       {"NVIDIA_REQUIRE_CUDA=cuda>=13.0", "NVIDIA_REQUIRE_CUDA=cuda>=12.0"},
       "550.54.14",
       "12.4",
       {},
       true},
      {"later_entry_wins_2",
       {"NVIDIA_REQUIRE_CUDA=cuda>=12.0", "NVIDIA_REQUIRE_CUDA=cuda>=13.0"},
       "550.54.14",
       "12.4",
       {},
       false,
       "580.65.06"},
      {"jetpack_ignored", {"NVIDIA_REQUIRE_JETPACK=garbage>>>"}, "550.54.14", "12.4", {}, true},
      {"empty_value", {"NVIDIA_REQUIRE_CUDA="}, "550.54.14", "12.4", {}, true},
      {"blank_value", {"NVIDIA_REQUIRE_CUDA=   "}, "550.54.14", "12.4", {}, true},
      {"no_env", {}, "550.54.14", "12.4", {}, true},
      {"entry_without_equals", {"NVIDIA_REQUIRE_CUDA"}, "550.54.14", "12.4", {}, true},
  };
  return all;
}

TEST(GpuRequire, CaseTable) {
  ASSERT_GE(cases().size(), 30u);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    auto reqs = requirementsFromEnv(c.env);
    ASSERT_TRUE(reqs) << reqs.error().message;
    Verdict v = checkRequirements(*reqs, hostOf(c));
    EXPECT_EQ(v.ok, c.ok) << v.message;
    EXPECT_EQ(v.needed_driver ? v.needed_driver->str() : "", c.needed) << v.message;
    if (*c.failed) {
      EXPECT_EQ(v.failed, c.failed);
    }
    if (v.ok) {
      EXPECT_TRUE(v.message.empty());
      EXPECT_TRUE(v.failed.empty());
    } else {
      EXPECT_EQ(v.message.find('\n'), std::string::npos);
    }
  }
}

TEST(GpuRequire, MessageNamesRequirementDriverAndFix) {
  auto reqs = requirementsFromEnv({"NVIDIA_REQUIRE_CUDA=cuda>=12.6"});
  ASSERT_TRUE(reqs);
  Verdict v = checkRequirements(*reqs, {ver("535.104.05"), ver("12.2"), {}});
  EXPECT_EQ(v.message,
            "image needs CUDA >= 12.6 (NVIDIA_REQUIRE_CUDA=cuda>=12.6), host driver 535.104.05 "
            "supports CUDA 12.2; driver >= 560.28.03 runs it");
}

TEST(GpuRequire, MessageListsGpusForBrandAndArch) {
  auto reqs = requirementsFromEnv({"NVIDIA_REQUIRE_ARCH=arch>=8.0,brand=tesla"});
  ASSERT_TRUE(reqs);
  Verdict v = checkRequirements(*reqs, {ver("550.54.14"), ver("12.4"), {{ver("7.5"), "tesla"}}});
  EXPECT_EQ(v.message,
            "image needs compute capability >= 8.0 and brand = tesla "
            "(NVIDIA_REQUIRE_ARCH=arch>=8.0,brand=tesla), host driver 550.54.14 supports CUDA "
            "12.4, GPUs: tesla arch 7.5; no newer driver alone satisfies it");
}

TEST(GpuRequire, ReadsEveryRequirementInNameOrder) {
  auto reqs = requirementsFromEnv({"PATH=/usr/bin", "NVIDIA_REQUIRE_X=driver>=1",
                                   "NVIDIA_REQUIRE_CUDA=cuda>=12.0 brand=tesla,driver>=470",
                                   "CUDA_VERSION=12.0.1"});
  ASSERT_TRUE(reqs);
  EXPECT_FALSE(reqs->disabled);
  ASSERT_EQ(reqs->all.size(), 2u);
  EXPECT_EQ(reqs->all[0].variable, "NVIDIA_REQUIRE_CUDA");
  EXPECT_EQ(reqs->all[0].text, "cuda>=12.0 brand=tesla,driver>=470");
  ASSERT_EQ(reqs->all[0].alternatives.size(), 2u);
  ASSERT_EQ(reqs->all[0].alternatives[1].size(), 2u);
  const Constraint& brand = reqs->all[0].alternatives[1][0];
  EXPECT_EQ(brand.key, RequireKey::kBrand);
  EXPECT_EQ(brand.op, RequireOp::kEq);
  EXPECT_EQ(brand.value, "tesla");
  EXPECT_FALSE(brand.version);
  const Constraint& driver = reqs->all[0].alternatives[1][1];
  EXPECT_EQ(driver.key, RequireKey::kDriver);
  EXPECT_EQ(driver.op, RequireOp::kGe);
  EXPECT_EQ(driver.version, ver("470"));
  EXPECT_EQ(reqs->all[1].variable, "NVIDIA_REQUIRE_X");
  EXPECT_TRUE(needsGpuFacts(*reqs));
}

TEST(GpuRequire, LegacyCudaVersionMeansMajorMinor) {
  auto reqs = requirementsFromEnv({"CUDA_VERSION=12.4.1"});
  ASSERT_TRUE(reqs);
  ASSERT_EQ(reqs->all.size(), 1u);
  EXPECT_EQ(reqs->all[0].variable, "CUDA_VERSION");
  EXPECT_EQ(reqs->all[0].text, "12.4.1");
  const Constraint& c = reqs->all[0].alternatives.at(0).at(0);
  EXPECT_EQ(c.key, RequireKey::kCuda);
  EXPECT_EQ(c.op, RequireOp::kGe);
  EXPECT_EQ(c.value, "12.4");
  EXPECT_EQ(c.version, ver("12.4"));
  EXPECT_FALSE(needsGpuFacts(*reqs));
}

TEST(GpuRequire, DisabledStillReadsWhatParsesAndSkipsTheRest) {
  auto reqs = requirementsFromEnv({"NVIDIA_DISABLE_REQUIRE=1", "NVIDIA_REQUIRE_CUDA=cuda>=12.6",
                                   "NVIDIA_REQUIRE_BAD=cuda>>1", "CUDA_VERSION=x"});
  ASSERT_TRUE(reqs) << reqs.error().message;
  EXPECT_TRUE(reqs->disabled);
  ASSERT_EQ(reqs->all.size(), 1u);
  EXPECT_EQ(reqs->all[0].variable, "NVIDIA_REQUIRE_CUDA");
  EXPECT_TRUE(checkRequirements(*reqs, {ver("450.51.05"), ver("11.0"), {}}).ok);
}

TEST(GpuRequire, MalformedInputIsOneLineNamingVariableAndConstraint) {
  struct Bad {
    std::string env;
    std::string message;
  };
  const std::string long_key(200, 'k');
  const Bad cases[] = {
      {"NVIDIA_REQUIRE_CUDA=cuda>>1",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>>1": unknown operator ">>")"},
      {"NVIDIA_REQUIRE_CUDA=cuda=>12",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda=>12": unknown operator "=>")"},
      {"NVIDIA_REQUIRE_CUDA=cuda<>12",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda<>12": unknown operator "<>")"},
      {"NVIDIA_REQUIRE_CUDA=cuda!12",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda!12": unknown operator "!")"},
      {"NVIDIA_REQUIRE_CUDA=cuda===12",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda===12": unknown operator "===")"},
      {"NVIDIA_REQUIRE_CUDA=cuda", R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda": no operator)"},
      {"NVIDIA_REQUIRE_CUDA=>=12",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint ">=12": no key before the operator)"},
      {"NVIDIA_REQUIRE_CUDA=foo>=1",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "foo>=1": unknown key "foo" (cuda, driver, arch or brand))"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>=": no value after the operator)"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=12..4",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>=12..4": bad version "12..4")"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=-1",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>=-1": bad version "-1")"},
      {"NVIDIA_REQUIRE_CUDA=driver>=550.54.14a",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "driver>=550.54.14a": bad version "550.54.14a")"},
      {"NVIDIA_REQUIRE_ARCH=arch>=sm_80",
       R"(NVIDIA_REQUIRE_ARCH: bad constraint "arch>=sm_80": bad version "sm_80")"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=12.4\tbrand=tesla",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>=12.4\x09brand=tesla": bad version "12.4\x09brand=tesla")"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=12.4,",
       R"(NVIDIA_REQUIRE_CUDA: empty constraint in "cuda>=12.4,")"},
      {"NVIDIA_REQUIRE_CUDA=,cuda>=12.4",
       R"(NVIDIA_REQUIRE_CUDA: empty constraint in ",cuda>=12.4")"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=12.4,,driver>=1",
       R"(NVIDIA_REQUIRE_CUDA: empty constraint in "cuda>=12.4,,driver>=1")"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=12.4 ,", R"(NVIDIA_REQUIRE_CUDA: empty constraint in ",")"},
      {"NVIDIA_REQUIRE_BRAND=brand<tesla",
       R"(NVIDIA_REQUIRE_BRAND: bad constraint "brand<tesla": brand takes = or != only)"},
      {"NVIDIA_REQUIRE_BRAND=brand=te$la",
       R"(NVIDIA_REQUIRE_BRAND: bad constraint "brand=te$la": bad brand "te$la")"},
      {"NVIDIA_REQUIRE_BRAND=brand=tesla=x",
       R"(NVIDIA_REQUIRE_BRAND: bad constraint "brand=tesla=x": bad brand "tesla=x")"},
      {"NVIDIA_REQUIRE_FOO=cuda>=12.0 driver~1",
       R"(NVIDIA_REQUIRE_FOO: bad constraint "driver~1": no operator)"},
      {"NVIDIA_REQUIRE_CUDA=cuda>=12.4\n",
       R"(NVIDIA_REQUIRE_CUDA: bad constraint "cuda>=12.4\x0a": bad version "12.4\x0a")"},
      {"NVIDIA_REQUIRE_CUDA=" + long_key + ">=1",
       "NVIDIA_REQUIRE_CUDA: bad constraint \"" + std::string(80, 'k') + "...\": unknown key \"" +
           std::string(80, 'k') + "...\" (cuda, driver, arch or brand)"},
      {"NVIDIA_REQUIRE_\x1b[2J=cuda",
       R"(NVIDIA_REQUIRE_\x1b[2J: bad constraint "cuda": no operator)"},
      {"CUDA_VERSION=abc", R"(CUDA_VERSION: bad version "abc")"},
      {"CUDA_VERSION=12.4.1-rc1", R"(CUDA_VERSION: bad version "12.4.1-rc1")"},
  };
  for (const Bad& c : cases) {
    auto reqs = requirementsFromEnv({c.env});
    ASSERT_FALSE(reqs) << c.env;
    EXPECT_EQ(reqs.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(reqs.error().message, c.message);
  }
}

}  // namespace
}  // namespace hull::gpu
