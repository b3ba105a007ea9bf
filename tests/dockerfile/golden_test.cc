// Golden cases: tests/testdata/dockerfile/<case>/Dockerfile with expected.json (the JSON parse)
// or error.txt (the exact error line); an optional `args` file holds --build-arg=K=V and
// --target=NAME lines. Cases named err_* must fail. HULL_UPDATE_GOLDEN=1 rewrites the expected
// files from the current output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dockerfile/dockerfile.h"

namespace hull::dockerfile {
namespace {

namespace fs = std::filesystem;

fs::path casesDir() { return fs::path(HULL_TESTDATA) / "dockerfile"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(casesDir(), ec)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

ParseOptions optionsFor(const fs::path& dir) {
  ParseOptions opt;
  opt.build_platform = oci::Platform{"amd64", "linux", "", "", {}};
  std::istringstream args(fs::exists(dir / "args") ? slurp(dir / "args") : "");
  for (std::string line; std::getline(args, line);) {
    if (line.rfind("--build-arg=", 0) == 0) {
      std::string kv = line.substr(12);
      auto eq = kv.find('=');
      opt.build_args[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    } else if (line.rfind("--target=", 0) == 0) {
      opt.target = line.substr(9);
    } else if (line.rfind("--target-platform=", 0) == 0) {
      std::istringstream parts(line.substr(18));
      std::string os, arch, variant;
      std::getline(parts, os, '/');
      std::getline(parts, arch, '/');
      std::getline(parts, variant, '/');
      opt.target_platform = oci::Platform{arch, os, variant, "", {}};
    }
  }
  return opt;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, Matches) {
  const fs::path dir = casesDir() / GetParam();
  const bool update = std::getenv("HULL_UPDATE_GOLDEN") != nullptr &&
                      std::string(std::getenv("HULL_UPDATE_GOLDEN")) == "1";
  const bool want_error = GetParam().rfind("err_", 0) == 0;
  auto result = parse(slurp(dir / "Dockerfile"), optionsFor(dir));
  if (want_error) {
    ASSERT_FALSE(result) << "expected an error, got:\n" << toJson(*result).dump(2);
    std::string got = result.error().message + "\n";
    if (update) spit(dir / "error.txt", got);
    EXPECT_EQ(slurp(dir / "error.txt"), got);
    return;
  }
  ASSERT_TRUE(result) << result.error().message;
  std::string got = toJson(*result).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  if (update) spit(dir / "expected.json", got);
  EXPECT_EQ(slurp(dir / "expected.json"), got);
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(caseNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(GoldenCorpus, IsLargeEnough) {
  auto names = caseNames();
  auto errors = std::count_if(names.begin(), names.end(),
                              [](const std::string& n) { return n.rfind("err_", 0) == 0; });
  EXPECT_GE(static_cast<long>(names.size()) - errors, 80);
  EXPECT_GE(errors, 25);
}

}  // namespace
}  // namespace hull::dockerfile
