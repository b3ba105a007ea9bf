// Hostile input: never a crash, never a blow-up. Sizes are chosen so that a quadratic
// algorithm would take minutes, while the linear one takes well under a second.
#include <gtest/gtest.h>

#include <random>

#include "dockerfile/dockerfile.h"

namespace hull::dockerfile {
namespace {

TEST(Hostile, ManyContinuationLines) {
  std::string text = "FROM a\nRUN x";
  for (int i = 0; i < 200000; ++i) text += " \\\ny";
  text += "\n";
  auto df = parse(text);
  ASSERT_TRUE(df) << df.error().message;
  EXPECT_EQ(df->stages[0].instructions[0].range.end, 200002);
}

TEST(Hostile, HugeSingleLine) {
  std::string text = "FROM a\nENV A=" + std::string(3 << 20, 'x') + "\n";
  auto df = parse(text);
  ASSERT_TRUE(df);
}

TEST(Hostile, ManyHeredocLinesAndManyHeredocs) {
  std::string text = "FROM a\nRUN cat";
  for (int i = 0; i < 2000; ++i) text += " <<E" + std::to_string(i);
  text += "\n";
  for (int i = 0; i < 2000; ++i) text += "line\nE" + std::to_string(i) + "\n";
  auto df = parse(text);
  ASSERT_TRUE(df) << df.error().message;
  EXPECT_EQ(std::get<::hull::dockerfile::Run>(df->stages[0].instructions[0].body).heredocs.size(),
            2000u);
}

TEST(Hostile, ExponentialVariableGrowthIsRefused) {
  std::string text = "FROM a\nENV A=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
  for (int i = 0; i < 40; ++i) text += "ENV A=$A$A\n";
  auto df = parse(text);
  ASSERT_FALSE(df);
  EXPECT_NE(df.error().message.find("larger than"), std::string::npos) << df.error().message;
}

TEST(Hostile, ManyStagesInheritingManyVariables) {
  std::string text = "FROM a AS s0\n";
  for (int i = 0; i < 3000; ++i) text += "ENV V" + std::to_string(i) + "=1\n";
  for (int i = 1; i < 3000; ++i) {
    text += "FROM s" + std::to_string(i - 1) + " AS s" + std::to_string(i) + "\n";
  }
  auto df = parse(text);
  ASSERT_FALSE(df);  // 9M inherited variables: refused, not ground through
  EXPECT_NE(df.error().message.find("too many inherited variables"), std::string::npos);
}

TEST(Hostile, LongStageChainIsFine) {
  std::string text = "FROM a AS s0\n";
  for (int i = 1; i < 20000; ++i) {
    text += "FROM s" + std::to_string(i - 1) + " AS s" + std::to_string(i) + "\n";
  }
  auto df = parse(text);
  ASSERT_TRUE(df) << df.error().message;
  EXPECT_EQ(df->stages.size(), 20000u);
}

TEST(Hostile, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  const std::string alphabet = "FROMRUNCOPYENVARG $\\{}:-+?#%/\"'`<<\n\r\t=[],\x00\xff";
  for (int round = 0; round < 3000; ++round) {
    std::string text = round % 2 ? "FROM a\n" : "";
    int n = static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    auto df = parse(text);
    if (df) (void)toJson(*df).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

}  // namespace
}  // namespace hull::dockerfile
