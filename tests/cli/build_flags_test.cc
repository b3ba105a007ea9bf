// The flag rules of `hull build` (cli/build_flags.h): build args, labels, secrets,
// SOURCE_DATE_EPOCH, compression and what stdin holds.
#include "cli/build_flags.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace hull::cli {
namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(BuildArgs, NameValueAndEnvironment) {
  auto args =
      parseBuildArgs({"A=1", "B=", "C=x=y", "HOME_DIR", "UNSET"}, fakeEnv({{"HOME_DIR", "/root"}}));
  ASSERT_TRUE(args) << args.error().message;
  std::map<std::string, std::string> want{
      {"A", "1"}, {"B", ""}, {"C", "x=y"}, {"HOME_DIR", "/root"}};
  EXPECT_EQ(*args, want);
}

TEST(BuildArgs, EmptyNameRefused) {
  EXPECT_FALSE(parseBuildArgs({"=1"}, fakeEnv({})));
  EXPECT_FALSE(parseBuildArgs({""}, fakeEnv({})));
}

TEST(BuildArgs, LastOneWins) {
  auto args = parseBuildArgs({"A=1", "A=2"}, fakeEnv({}));
  ASSERT_TRUE(args);
  EXPECT_EQ(args->at("A"), "2");
}

TEST(Labels, KeyValueAndBareKey) {
  auto labels = parseLabels({"a=1", "b", "c=d=e"});
  ASSERT_TRUE(labels);
  std::map<std::string, std::string> want{{"a", "1"}, {"b", ""}, {"c", "d=e"}};
  EXPECT_EQ(*labels, want);
  EXPECT_FALSE(parseLabels({"=x"}));
}

TEST(Secret, FileAndEnv) {
  auto s = parseSecretSpec("id=tok,src=/run/tok.txt");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->id, "tok");
  EXPECT_EQ(s->src, "/run/tok.txt");
  EXPECT_EQ(s->env, "");
  s = parseSecretSpec("id=aws,env=AWS_KEY");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->env, "AWS_KEY");
  s = parseSecretSpec("type=file,id=x,source=a/b");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->src, "a/b");
}

TEST(Secret, IdFromFileNameAndEnvFromId) {
  auto s = parseSecretSpec("src=/etc/npmrc");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, "npmrc");
  s = parseSecretSpec("id=TOKEN");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->env, "TOKEN");
  s = parseSecretSpec("id=TOKEN,type=file");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->src, "TOKEN");
}

TEST(Secret, BadSpecsSayWhy) {
  for (const char* bad : {"", "tok", "id=", "id=a,src=/x,env=Y", "id=a,colour=red", "env=X",
                          "id=a,type=socket", "id=a,type=env,src=/x"}) {
    auto s = parseSecretSpec(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
    EXPECT_NE(s.error().message.find("--secret"), std::string::npos) << s.error().message;
  }
}

TEST(SourceDateEpoch, FlagWinsOverEnvironment) {
  auto e = sourceDateEpoch(std::string("5"), fakeEnv({{"SOURCE_DATE_EPOCH", "7"}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, 5);
  e = sourceDateEpoch(std::nullopt, fakeEnv({{"SOURCE_DATE_EPOCH", "7"}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, 7);
}

TEST(SourceDateEpoch, UnsetOrEmptyIsNone) {
  auto e = sourceDateEpoch(std::nullopt, fakeEnv({}));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->has_value());
  e = sourceDateEpoch(std::nullopt, fakeEnv({{"SOURCE_DATE_EPOCH", ""}}));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->has_value());
}

TEST(SourceDateEpoch, BadValuesRefused) {
  EXPECT_FALSE(sourceDateEpoch(std::string("abc"), fakeEnv({})));
  EXPECT_FALSE(sourceDateEpoch(std::string("-1"), fakeEnv({})));
  EXPECT_FALSE(sourceDateEpoch(std::string(""), fakeEnv({})));
  EXPECT_FALSE(sourceDateEpoch(std::string("12x"), fakeEnv({})));
  auto e = sourceDateEpoch(std::nullopt, fakeEnv({{"SOURCE_DATE_EPOCH", "soon"}}));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("SOURCE_DATE_EPOCH"), std::string::npos);
}

TEST(Compression, Names) {
  EXPECT_EQ(*parseCompression("gzip"), layer::Compression::kGzip);
  EXPECT_EQ(*parseCompression("zstd"), layer::Compression::kZstd);
  EXPECT_FALSE(parseCompression("xz"));
}

std::string tarHeader(std::string_view magic) {
  std::string h(512, '\0');
  h.replace(0, 4, "file");
  h.replace(257, magic.size(), magic);
  return h;
}

TEST(SniffStdin, ArchivesAreContexts) {
  EXPECT_EQ(sniffStdin(tarHeader(std::string_view("ustar\0"
                                                  "00",
                                                  8))),
            StdinKind::kContextArchive);
  EXPECT_EQ(sniffStdin(tarHeader("ustar  ")), StdinKind::kContextArchive);
  EXPECT_EQ(sniffStdin("\x1f\x8b\x08\x00"), StdinKind::kContextArchive);
  EXPECT_EQ(sniffStdin("\x28\xb5\x2f\xfd\x00"), StdinKind::kContextArchive);
  EXPECT_EQ(sniffStdin("BZh91AY&SY"), StdinKind::kContextArchive);
  EXPECT_EQ(sniffStdin(std::string_view("\xfd"
                                        "7zXZ\x00\x00",
                                        7)),
            StdinKind::kContextArchive);
}

TEST(SniffStdin, AnythingElseIsADockerfile) {
  EXPECT_EQ(sniffStdin("FROM busybox\nRUN true\n"), StdinKind::kDockerfile);
  EXPECT_EQ(sniffStdin(""), StdinKind::kDockerfile);
  std::string long_text(600, 'x');
  EXPECT_EQ(sniffStdin(long_text), StdinKind::kDockerfile);
}

}  // namespace
}  // namespace hull::cli
