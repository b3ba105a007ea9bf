// The module layering of STYLE.md and DESIGN.md, checked on every `#include "..."` under src/:
// lower modules never include higher ones and siblings never include each other.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace hull {
namespace {

namespace fs = std::filesystem;

// What each module may include besides itself. "*" allows every module but those listed after
// it with a leading '-'.
const std::map<std::string, std::set<std::string>>& allowedIncludes() {
  static const std::map<std::string, std::set<std::string>> rules = {
      {"base", {}},
      {"oci", {"base"}},
      {"dockerfile", {"oci", "base"}},
      {"lint", {"dockerfile", "oci", "base"}},
      // Siblings: each stands on oci and base alone.
      {"store", {"oci", "base"}},
      {"layer", {"oci", "base"}},
      {"runtime", {"oci", "base"}},
      {"net", {"oci", "base"}},
      {"gpu", {"oci", "base"}},
      {"compose", {"oci", "base"}},
      {"registry", {"store", "layer", "oci", "base"}},
      {"build", {"store", "layer", "dockerfile", "oci", "base"}},
      {"kube", {"oci", "base"}},
      {"ml", {"oci", "base"}},
      {"scan", {"dockerfile", "oci", "base"}},
      {"engine", {"*", "-cli"}},
      {"cli", {"*"}},
  };
  return rules;
}

bool mayInclude(const std::string& from, const std::string& to) {
  if (from == to) return true;
  const std::set<std::string>& allowed = allowedIncludes().at(from);
  if (allowed.contains("*")) return !allowed.contains("-" + to);
  return allowed.contains(to);
}

// Every breach as "src/<file>:<line>: <module> must not include "<path>"".
std::vector<std::string> layeringViolations(const fs::path& src) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".h" || ext == ".cc")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    fs::path rel = fs::relative(file, src);
    std::string from = rel.begin()->string();
    std::string where = "src/" + rel.string();
    if (!allowedIncludes().contains(from)) {
      out.push_back(where + ": module '" + from + "' has no layering rule in layering_test.cc");
      continue;
    }
    std::ifstream in(file);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      std::smatch m;
      if (!std::regex_search(line, m, kInclude)) continue;
      std::string included = m[1];
      std::string to = included.substr(0, included.find('/'));
      std::string at = where + ":" + std::to_string(number) + ": ";
      if (included.find('/') == std::string::npos || !allowedIncludes().contains(to)) {
        out.push_back(at + "include \"" + included + "\" is not rooted at src/<module>/");
      } else if (!mayInclude(from, to)) {
        out.push_back(at + from + " must not include \"" + included + "\"");
      }
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

TEST(Layering, SourcesFollowTheModuleOrder) {
  fs::path src = fs::path(HULL_SOURCE_DIR) / "src";
  ASSERT_TRUE(fs::exists(src / "base")) << src;
  std::vector<std::string> violations = layeringViolations(src);
  EXPECT_TRUE(violations.empty()) << violations.size() << " layering violation(s):\n"
                                  << joined(violations);
}

TEST(Layering, RulesMatchTheDesign) {
  EXPECT_TRUE(mayInclude("dockerfile", "oci"));
  EXPECT_FALSE(mayInclude("base", "oci"));
  EXPECT_FALSE(mayInclude("store", "layer"));
  EXPECT_FALSE(mayInclude("runtime", "gpu"));
  EXPECT_FALSE(mayInclude("compose", "runtime"));
  EXPECT_TRUE(mayInclude("build", "dockerfile"));
  EXPECT_FALSE(mayInclude("build", "runtime"));
  EXPECT_TRUE(mayInclude("engine", "gpu"));
  EXPECT_FALSE(mayInclude("engine", "cli"));
  EXPECT_TRUE(mayInclude("cli", "engine"));
}

// The checker itself reports a breach with its file and line.
TEST(Layering, ReportsOffendingFileAndLine) {
  char tmpl[] = "/tmp/hull-layering-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  fs::path src = tmpl;
  fs::create_directories(src / "store");
  fs::create_directories(src / "oci");
  std::ofstream(src / "store" / "blob.cc") << "// blob\n#include <vector>\n"
                                           << "#include \"oci/image.h\"\n"
                                           << "  #  include \"runtime/ns.h\"\n"
                                           << "#include \"local.h\"\n";
  std::ofstream(src / "oci" / "image.h") << "#include \"base/result.h\"\n";
  std::vector<std::string> v = layeringViolations(src);
  fs::remove_all(src);
  ASSERT_EQ(v.size(), 2u) << joined(v);
  EXPECT_EQ(v[0], "src/store/blob.cc:4: store must not include \"runtime/ns.h\"");
  EXPECT_EQ(v[1], "src/store/blob.cc:5: include \"local.h\" is not rooted at src/<module>/");
}

}  // namespace
}  // namespace hull
