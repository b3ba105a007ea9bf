#include "engine/format.h"

#include <gtest/gtest.h>

namespace hull::engine {
namespace {

TEST(HumanSize, UsesDecimalUnitsWithThreeSignificantDigits) {
  EXPECT_EQ(humanSize(0), "0B");
  EXPECT_EQ(humanSize(999), "999B");
  EXPECT_EQ(humanSize(1000), "1kB");
  EXPECT_EQ(humanSize(1234567), "1.23MB");
  EXPECT_EQ(humanSize(45'600'000), "45.6MB");
  EXPECT_EQ(humanSize(1.5e9), "1.5GB");
  EXPECT_EQ(humanSize(2e12), "2TB");
}

TEST(HumanDuration, MatchesDockerWords) {
  EXPECT_EQ(humanDuration(0), "Less than a second");
  EXPECT_EQ(humanDuration(1), "1 second");
  EXPECT_EQ(humanDuration(59), "59 seconds");
  EXPECT_EQ(humanDuration(60), "About a minute");
  EXPECT_EQ(humanDuration(5 * 60), "5 minutes");
  EXPECT_EQ(humanDuration(3600), "About an hour");
  EXPECT_EQ(humanDuration(5 * 3600), "5 hours");
  EXPECT_EQ(humanDuration(3 * 86400), "3 days");
  EXPECT_EQ(humanDuration(15 * 86400), "2 weeks");
  EXPECT_EQ(humanDuration(90 * 86400), "3 months");
  EXPECT_EQ(humanDuration(3 * 365 * 86400), "3 years");
}

TEST(Timestamps, ParseRfc3339WithFractionsAndOffsets) {
  EXPECT_EQ(parseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseTimestamp("2024-05-01T10:00:00.123456789Z"), 1714557600);
  EXPECT_EQ(parseTimestamp("2024-05-01T12:00:00+02:00"), 1714557600);
  EXPECT_FALSE(parseTimestamp("2024-05-01"));
  EXPECT_FALSE(parseTimestamp("2024-13-01T00:00:00Z"));
  EXPECT_FALSE(parseTimestamp("garbage"));
  EXPECT_EQ(createdSince("2024-05-01T10:00:00Z", 1714557600 + 120), "2 minutes ago");
  EXPECT_EQ(createdSince("", 0), "N/A");
}

TEST(BuildTime, HonoursSourceDateEpoch) {
  ::setenv("SOURCE_DATE_EPOCH", "1234", 1);
  EXPECT_EQ(buildTime().value(), 1234);
  ::setenv("SOURCE_DATE_EPOCH", "12x", 1);
  EXPECT_FALSE(buildTime());
  ::unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_GT(buildTime().value(), 1234);
}

TEST(Template, RendersFieldsJsonAndIndex) {
  Json data = {{"Id", "sha256:abc"},
               {"Config", {{"Cmd", {"sh", "-c", "true"}}, {"Labels", {{"a", "1"}}}}}};
  EXPECT_EQ(renderTemplate("{{.Id}}", data).value(), "sha256:abc");
  EXPECT_EQ(renderTemplate("id={{ .Id }}!", data).value(), "id=sha256:abc!");
  EXPECT_EQ(renderTemplate("{{.Config.Cmd}}", data).value(), "[sh -c true]");
  EXPECT_EQ(renderTemplate("{{json .Config.Cmd}}", data).value(), R"(["sh","-c","true"])");
  EXPECT_EQ(renderTemplate("{{index .Config.Labels \"a\"}}", data).value(), "1");
  EXPECT_EQ(renderTemplate("{{.Config.Labels}}", data).value(), "map[a:1]");
  EXPECT_EQ(renderTemplate("{{.Nope}}", data).value(), "<no value>");
  EXPECT_EQ(renderTemplate("{{.Id}}\\t{{.Id}}", data).value(), "sha256:abc\tsha256:abc");
  EXPECT_FALSE(renderTemplate("{{.Id", data));
  EXPECT_FALSE(renderTemplate("{{range .X}}", data));
}

TEST(Table, PadsColumnsLikeTabwriter) {
  std::string t = renderTable({{"A", "BB"}, {"longer-than-ten", "x"}});
  EXPECT_EQ(t, std::string("A") + std::string(17, ' ') + "BB\nlonger-than-ten   x\n");
  EXPECT_EQ(ellipsis("abcdef", 4), "abc…");
  EXPECT_EQ(ellipsis("abc", 4), "abc");
}

}  // namespace
}  // namespace hull::engine
