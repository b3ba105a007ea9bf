#include "gpu/version.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace hull::gpu {
namespace {

using testing::ver;

TEST(GpuVersion, ParsesOneToFourParts) {
  struct Case {
    const char* text;
    std::vector<uint32_t> parts;
  };
  const Case cases[] = {
      {"8", {8}},
      {"12.4", {12, 4}},
      {"550.54.14", {550, 54, 14}},
      {"535.104.05", {535, 104, 5}},
      {"1.2.3.4", {1, 2, 3, 4}},
      {"0", {0}},
      {"007.0", {7, 0}},
      {"2147483647", {2147483647}},
  };
  for (const Case& c : cases) {
    auto v = parseVersion(c.text);
    ASSERT_TRUE(v) << c.text << ": " << v.error().message;
    EXPECT_EQ(v->parts, c.parts) << c.text;
    EXPECT_EQ(v->str(), c.text) << "str() gives the text back as written";
  }
}

TEST(GpuVersion, RejectsMalformedTextNamingIt) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", R"(bad version "")"},
      {"12..4", R"(bad version "12..4")"},
      {".12", R"(bad version ".12")"},
      {"12.", R"(bad version "12.")"},
      {".", R"(bad version ".")"},
      {"+12", R"(bad version "+12")"},
      {"-1", R"(bad version "-1")"},
      {" 12", R"(bad version " 12")"},
      {"12 ", R"(bad version "12 ")"},
      {"12a", R"(bad version "12a")"},
      {"v12.4", R"(bad version "v12.4")"},
      {"1.2.3.4.5", R"(bad version "1.2.3.4.5")"},
      {"2147483648", R"(bad version "2147483648")"},
      {"99999999999999999999999", R"(bad version "99999999999999999999999")"},
      {"0x10", R"(bad version "0x10")"},
      {"12,4", R"(bad version "12,4")"},
      {"12.4\n", R"(bad version "12.4\x0a")"},
      {std::string("12\0", 3), R"(bad version "12\x00")"},
      {"1\"2", R"(bad version "1\"2")"},
      {std::string(100, '9'), "bad version \"" + std::string(80, '9') + "...\""},
  };
  for (const Case& c : cases) {
    auto v = parseVersion(c.text);
    ASSERT_FALSE(v) << c.text;
    EXPECT_EQ(v.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(v.error().message, c.message);
  }
}

TEST(GpuVersion, ComparesNumericallyWithMissingPartsAsZero) {
  EXPECT_EQ(ver("12"), ver("12.0"));
  EXPECT_EQ(ver("12"), ver("12.0.0.0"));
  EXPECT_EQ(ver("535.104.05"), ver("535.104.5"));
  EXPECT_LT(ver("12.9"), ver("12.10"));
  EXPECT_LT(ver("535.54.03"), ver("535.104.05"));
  EXPECT_LT(ver("12.4"), ver("12.4.1"));
  EXPECT_GT(ver("13"), ver("12.99"));
  EXPECT_NE(ver("12.4"), ver("12.40"));
}

TEST(GpuVersion, StrJoinsPartsWhenBuiltFromNumbers) {
  Version v;
  v.parts = {12, 4};
  EXPECT_EQ(v.str(), "12.4");
  EXPECT_EQ(v.major(), 12u);
  EXPECT_EQ(v.minor(), 4u);
  EXPECT_EQ(Version{}.major(), 0u);
  EXPECT_EQ(Version{}.str(), "");
  EXPECT_EQ(ver("8").minor(), 0u);
}

TEST(GpuVersion, CudaFromDriverApiInteger) {
  EXPECT_EQ(cudaFromInt(12040).str(), "12.4");
  EXPECT_EQ(cudaFromInt(11080).str(), "11.8");
  EXPECT_EQ(cudaFromInt(13000).str(), "13.0");
  EXPECT_EQ(cudaFromInt(9020).str(), "9.2");
  EXPECT_EQ(cudaFromInt(12040), ver("12.4"));
  EXPECT_EQ(cudaFromInt(-1).str(), "0.0");
}

TEST(GpuVersion, QuoteForMessageKeepsOneLine) {
  EXPECT_EQ(quoteForMessage("abc"), R"("abc")");
  EXPECT_EQ(quoteForMessage("a\tb\r\n\x7f"), R"("a\x09b\x0d\x0a\x7f")");
  EXPECT_EQ(quoteForMessage(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(quoteForMessage("abcdef", 3), R"("abc...")");
  EXPECT_EQ(clipForMessage("abcdef", 6), "abcdef");
}

}  // namespace
}  // namespace hull::gpu
