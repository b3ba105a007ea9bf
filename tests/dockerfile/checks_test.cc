// Build checks (dockerfile/checks.h): each rule with a Dockerfile that trips it and one that does
// not, the `# check=` directive, and a golden list for a sample file (tests/testdata/checks/).
#include "dockerfile/checks.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hull::dockerfile {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> check(std::string_view text, const CheckOptions& opt = {},
                               std::string target = "") {
  ParseOptions po;
  po.target = std::move(target);
  auto df = parse(text, po);
  EXPECT_TRUE(df) << (df ? "" : df.error().message);
  if (!df) return {};
  std::vector<std::string> out;
  for (const auto& w : runChecks(*df, text, opt)) {
    out.push_back(std::to_string(w.line) + ": " + w.rule + ": " + w.message);
  }
  return out;
}

// The warnings of one rule only.
std::vector<std::string> rule(std::string_view name, std::string_view text,
                              const CheckOptions& opt = {}, std::string target = "") {
  std::vector<std::string> out;
  for (auto& w : check(text, opt, std::move(target))) {
    if (w.find(": " + std::string(name) + ": ") != std::string::npos) out.push_back(w);
  }
  return out;
}

using V = std::vector<std::string>;

TEST(Checks, TableHasNamesDescriptionsAndUrls) {
  const auto& rules = checkRules();
  ASSERT_GE(rules.size(), 15u);
  for (const auto& r : rules) {
    EXPECT_FALSE(r.name.empty());
    EXPECT_FALSE(r.description.empty()) << r.name;
    EXPECT_TRUE(r.url.starts_with("https://docs.docker.com/go/dockerfile/rule/")) << r.name;
  }
}

TEST(Checks, CleanFileHasNoWarnings) {
  EXPECT_EQ(check("FROM scratch AS build\nWORKDIR /app\nCOPY . .\nCMD [\"/app/run\"]\n"), V{});
}

TEST(Checks, JSONArgsRecommended) {
  EXPECT_EQ(rule("JSONArgsRecommended", "FROM scratch\nCMD echo hi\nENTRYPOINT my-app start\n"),
            (V{"2: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended "
               "behavior related to OS signals",
               "3: JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent "
               "unintended behavior related to OS signals"}));
  EXPECT_EQ(rule("JSONArgsRecommended", "FROM scratch\nCMD [\"echo\", \"hi\"]\n"), V{});
  // An explicit SHELL says the shell form is meant, in this stage and those built on it.
  EXPECT_EQ(rule("JSONArgsRecommended",
                 "FROM scratch AS a\nSHELL [\"/bin/bash\", \"-c\"]\nFROM a\nCMD echo hi\n"),
            V{});
}

TEST(Checks, StageNameCasing) {
  EXPECT_EQ(rule("StageNameCasing", "FROM scratch AS BuilderBase\n"),
            V{"1: StageNameCasing: Stage name 'BuilderBase' should be lowercase"});
  EXPECT_EQ(rule("StageNameCasing", "FROM scratch AS builder-base\n"), V{});
}

TEST(Checks, FromAsCasing) {
  EXPECT_EQ(rule("FromAsCasing", "FROM scratch as build\n"),
            V{"1: FromAsCasing: 'as' and 'FROM' keywords' casing do not match"});
  EXPECT_EQ(rule("FromAsCasing", "from scratch AS build\n"),
            V{"1: FromAsCasing: 'AS' and 'from' keywords' casing do not match"});
  EXPECT_EQ(rule("FromAsCasing", "FROM scratch AS build\nfrom build as final\n"), V{});
}

TEST(Checks, ConsistentInstructionCasing) {
  EXPECT_EQ(rule("ConsistentInstructionCasing", "FROM scratch\nworkdir /app\nCOPY . .\n"),
            V{"2: ConsistentInstructionCasing: Command 'workdir' should match the case of the "
              "command majority (uppercase)"});
  EXPECT_EQ(rule("ConsistentInstructionCasing", "from scratch\nworkdir /app\nCopy . .\n"),
            V{"3: ConsistentInstructionCasing: Command 'Copy' should match the case of the "
              "command majority (lowercase)"});
  EXPECT_EQ(rule("ConsistentInstructionCasing", "from scratch\nworkdir /app\n"), V{});
}

TEST(Checks, ReservedStageName) {
  EXPECT_EQ(rule("ReservedStageName", "FROM busybox AS scratch\nFROM busybox AS Context\n"),
            (V{"1: ReservedStageName: Stage name should not use the same name as reserved stage "
               "\"scratch\"",
               "2: ReservedStageName: Stage name should not use the same name as reserved stage "
               "\"context\""}));
  EXPECT_EQ(rule("ReservedStageName", "FROM busybox AS builder\n"), V{});
}

TEST(Checks, DuplicateStageNameIsAParseErrorFirst) {
  // hull's parser refuses the file before any check runs; the rule covers checking alone.
  EXPECT_FALSE(parse("FROM scratch AS a\nFROM scratch AS a\n"));
  EXPECT_EQ(rule("DuplicateStageName", "FROM scratch AS a\nFROM scratch AS b\n"), V{});
}

TEST(Checks, MaintainerDeprecated) {
  EXPECT_EQ(rule("MaintainerDeprecated", "FROM scratch\nMAINTAINER me <me@example.com>\n"),
            V{"2: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using "
              "label"});
  EXPECT_EQ(
      rule("MaintainerDeprecated", "FROM scratch\nLABEL org.opencontainers.image.authors=\"me\"\n"),
      V{});
}

TEST(Checks, UndefinedArgInFrom) {
  EXPECT_EQ(rule("UndefinedArgInFrom", "ARG VERSION=3.19\nFROM alpine:${VERSON}\n"),
            V{"2: UndefinedArgInFrom: FROM argument 'VERSON' is not declared (did you mean "
              "VERSION?)"});
  EXPECT_EQ(rule("UndefinedArgInFrom", "FROM --platform=$BUILDPLTFORM alpine:$TAG\n"),
            (V{"1: UndefinedArgInFrom: FROM argument 'TAG' is not declared",
               "1: UndefinedArgInFrom: FROM argument 'BUILDPLTFORM' is not declared (did you "
               "mean BUILDPLATFORM?)"}));
  // Declared without a value is declared; the platform arguments are predefined.
  EXPECT_EQ(
      rule("UndefinedArgInFrom", "ARG TAG\nFROM --platform=$BUILDPLATFORM alpine:${TAG:-3.19}\n"),
      V{});
}

TEST(Checks, InvalidDefaultArgInFrom) {
  EXPECT_EQ(rule("InvalidDefaultArgInFrom", "ARG TAG\nFROM alpine:${TAG}\n"),
            V{"2: InvalidDefaultArgInFrom: Default value for ARG alpine:${TAG} results in empty "
              "or invalid base image name"});
  EXPECT_EQ(rule("InvalidDefaultArgInFrom", "ARG IMAGE\nFROM scratch\nFROM ${IMAGE:-busybox}\n"),
            V{});
  EXPECT_EQ(rule("InvalidDefaultArgInFrom", "ARG TAG=3.19\nFROM alpine:${TAG}\n"), V{});
}

TEST(Checks, FromPlatformFlagConstDisallowed) {
  EXPECT_EQ(rule("FromPlatformFlagConstDisallowed", "FROM --platform=linux/amd64 alpine\n"),
            V{"1: FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant "
              "value \"linux/amd64\""});
  // Variables, or a stage named for its platform, are deliberate.
  EXPECT_EQ(rule("FromPlatformFlagConstDisallowed",
                 "FROM --platform=$BUILDPLATFORM alpine AS a\n"
                 "FROM --platform=linux/arm64 alpine AS build-arm64\n"),
            V{});
}

TEST(Checks, RedundantTargetPlatform) {
  EXPECT_EQ(rule("RedundantTargetPlatform", "FROM --platform=$TARGETPLATFORM alpine\n"),
            V{"1: RedundantTargetPlatform: Setting platform to predefined $TARGETPLATFORM in "
              "FROM is redundant as this is the default behavior"});
  EXPECT_EQ(rule("RedundantTargetPlatform", "FROM --platform=$BUILDPLATFORM alpine\n"), V{});
}

TEST(Checks, WorkdirRelativePath) {
  EXPECT_EQ(rule("WorkdirRelativePath", "FROM alpine\nWORKDIR app\nWORKDIR sub\n"),
            V{"2: WorkdirRelativePath: Relative workdir \"app\" can have unexpected results if "
              "the base image changes"});
  // An absolute WORKDIR before, in this stage or its base stage, makes the relative one safe.
  EXPECT_EQ(rule("WorkdirRelativePath",
                 "FROM alpine AS base\nWORKDIR /app\nWORKDIR sub\nFROM base\nWORKDIR more\n"),
            V{});
  // The path is checked after expansion.
  EXPECT_EQ(rule("WorkdirRelativePath", "FROM alpine\nENV D=/srv\nWORKDIR $D\n"), V{});
}

TEST(Checks, MultipleInstructionsDisallowed) {
  EXPECT_EQ(rule("MultipleInstructionsDisallowed",
                 "FROM scratch\nCMD [\"a\"]\nENTRYPOINT [\"b\"]\nCMD [\"c\"]\n"
                 "HEALTHCHECK NONE\nHEALTHCHECK CMD [\"true\"]\n"),
            (V{"2: MultipleInstructionsDisallowed: Multiple CMD instructions should not be used "
               "in the same stage because only the last one will be used",
               "5: MultipleInstructionsDisallowed: Multiple HEALTHCHECK instructions should not "
               "be used in the same stage because only the last one will be used"}));
  // One per stage is fine, even when a later stage inherits the first.
  EXPECT_EQ(rule("MultipleInstructionsDisallowed",
                 "FROM scratch AS a\nCMD [\"a\"]\nFROM a\nCMD [\"b\"]\n"),
            V{});
}

TEST(Checks, LegacyKeyValueFormat) {
  EXPECT_EQ(rule("LegacyKeyValueFormat", "FROM scratch\nENV key value\nLABEL k v w\n"),
            (V{"2: LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy "
               "\"ENV key value\" format",
               "3: LegacyKeyValueFormat: \"LABEL key=value\" should be used instead of legacy "
               "\"LABEL key value\" format"}));
  EXPECT_EQ(rule("LegacyKeyValueFormat", "FROM scratch\nENV key=value\nLABEL k=\"v w\"\n"), V{});
}

TEST(Checks, SecretsUsedInArgOrEnv) {
  EXPECT_EQ(rule("SecretsUsedInArgOrEnv",
                 "FROM scratch\nARG GITHUB_TOKEN\nENV DB_PASSWORD=x api_key=y\nARG AUTH\n"),
            (V{"2: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data "
               "(ARG \"GITHUB_TOKEN\")",
               "3: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data "
               "(ENV \"DB_PASSWORD\")",
               "3: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data "
               "(ENV \"api_key\")",
               "4: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data "
               "(ARG \"AUTH\")"}));
  // Whole words only, and "public" keys are not secret.
  EXPECT_EQ(rule("SecretsUsedInArgOrEnv",
                 "FROM scratch\nENV KEYBOARD=us TOKENIZER=bpe AUTHOR=me PUBLIC_KEY=abc\n"),
            V{});
}

TEST(Checks, UndefinedVarOnScratch) {
  EXPECT_EQ(rule("UndefinedVar",
                 "FROM scratch\nENV APP_HOME=/app\nCOPY app $APP_HOM/\nWORKDIR ${ROOT:-/}\n"),
            (V{"3: UndefinedVar: Usage of undefined variable '$APP_HOM' (did you mean "
               "$APP_HOME?)",
               "4: UndefinedVar: Usage of undefined variable '$ROOT'"}));
  // ENV, ARG with or without a value, PATH, single quotes and escapes.
  EXPECT_EQ(rule("UndefinedVar",
                 "FROM scratch\nARG A\nARG B=1 C=$B\nENV D=$PATH:$C\n"
                 "COPY '$X' \\$Y $A/ \n"),
            V{});
  // RUN and CMD are left to the shell.
  EXPECT_EQ(rule("UndefinedVar", "FROM scratch\nRUN echo $NOPE\nCMD [\"$NOPE\"]\n"), V{});
}

TEST(Checks, UndefinedVarSameInstructionAndGlobalArgs) {
  // A global ARG must be declared again in the stage; ENV sees only what was before it.
  EXPECT_EQ(rule("UndefinedVar", "ARG V=1\nFROM scratch\nENV A=1 B=$A\nCOPY x-$V /\n"),
            (V{"3: UndefinedVar: Usage of undefined variable '$A'",
               "4: UndefinedVar: Usage of undefined variable '$V' (did you mean $A?)"}));
}

TEST(Checks, UndefinedVarNeedsTheImageEnv) {
  const char* text =
      "FROM img\nENV LD_LIBRARY_PATH=/opt/lib:$LD_LIBRARY_PATH\nCOPY a $CUDA_HOME/\n";
  // Unknown image Env: nothing is flagged.
  EXPECT_EQ(rule("UndefinedVar", text), V{});
  CheckOptions opt;
  opt.base_image_env = [](const std::string& base) -> Result<std::vector<std::string>> {
    EXPECT_EQ(base, "img");
    return std::vector<std::string>{"PATH=/bin", "CUDA_HOME=/usr/local/cuda"};
  };
  EXPECT_EQ(rule("UndefinedVar", text, opt),
            V{"2: UndefinedVar: Usage of undefined variable '$LD_LIBRARY_PATH'"});
  // A stage built on another sees its ENV and ARGs.
  EXPECT_EQ(rule("UndefinedVar", "FROM scratch AS a\nARG X=1\nENV Y=2\nFROM a\nCOPY $X $Y /\n"),
            V{});
}

TEST(Checks, ExposeProtoCasing) {
  // hull's parser refuses an upper-case protocol that Docker would lower-case, so the rule is
  // run over the text of such a file with the parse of its corrected twin.
  auto df = parse("FROM scratch\nEXPOSE 80/tcp 8080\n");
  ASSERT_TRUE(df);
  auto w = runChecks(*df, "FROM scratch\nEXPOSE 80/TcP 8080\n");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rule, "ExposeProtoCasing");
  EXPECT_EQ(w[0].line, 2);
  EXPECT_EQ(w[0].message, "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase");
  EXPECT_EQ(rule("ExposeProtoCasing", "FROM scratch\nEXPOSE 80/tcp 53/udp\n"), V{});
}

TEST(Checks, ExposeInvalidFormat) {
  // Refused by hull's parser too; checked over the text as ExposeProtoCasing is.
  auto df = parse("FROM scratch\nEXPOSE 80/tcp\n");
  ASSERT_TRUE(df);
  auto w = runChecks(*df, "FROM scratch\nEXPOSE 8080:80/tcp\n");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rule, "ExposeInvalidFormat");
  EXPECT_EQ(w[0].message,
            "EXPOSE instruction should not define an IP address or host-port mapping, found "
            "'8080:80/tcp'");
  EXPECT_EQ(rule("ExposeInvalidFormat", "FROM scratch\nEXPOSE 80 443/tcp\n"), V{});
}

TEST(Checks, DispatchRulesOnlyForStagesTheTargetNeeds) {
  const char* text = "FROM scratch AS unused\nCMD run\nFROM scratch AS final\nCMD [\"ok\"]\n";
  EXPECT_EQ(rule("JSONArgsRecommended", text), V{});
  EXPECT_EQ(rule("JSONArgsRecommended", text, {}, "unused"),
            V{"2: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended "
              "behavior related to OS signals"});
  // Parse-time rules see every stage.
  EXPECT_EQ(rule("FromAsCasing", "FROM scratch as unused\nFROM scratch\n"),
            V{"1: FromAsCasing: 'as' and 'FROM' keywords' casing do not match"});
}

TEST(Checks, SkipDirective) {
  const char* body = "FROM scratch as Build\nCMD run\n";
  EXPECT_EQ(check(std::string("# check=skip=FromAsCasing, StageNameCasing\n") + body),
            V{"3: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended "
              "behavior related to OS signals"});
  EXPECT_EQ(check(std::string("# check=skip=all\n") + body), V{});
  auto df = parse("# check=skip=all;error=true\nFROM scratch\n");
  ASSERT_TRUE(df);
  auto cfg = checkConfig(*df);
  ASSERT_TRUE(cfg);
  EXPECT_TRUE(cfg->skip_all);
  EXPECT_TRUE(cfg->error);
  auto bad = parse("# check=nonsense\nFROM scratch\n");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(checkConfig(*bad));
}

TEST(Checks, SortedByLine) {
  auto out = check("FROM scratch as Build\nmaintainer x\nCMD run\n");
  ASSERT_EQ(out.size(), 5u);
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_LE(std::stoi(out[i - 1]), std::stoi(out[i]));
  }
}

TEST(Checks, EscapeDirectiveAndHeredocs) {
  // With ` as the escape character, `$ is a literal dollar.
  EXPECT_EQ(rule("UndefinedVar", "# escape=`\nFROM scratch\nCOPY `$A $B /\n"),
            V{"3: UndefinedVar: Usage of undefined variable '$B'"});
  // An expanding heredoc is checked with quotes as plain characters; a quoted one is not expanded.
  EXPECT_EQ(
      rule("UndefinedVar", "FROM scratch\nCOPY <<EOF /a\n'$X'\nEOF\nCOPY <<\"EOF\" /b\n$Y\nEOF\n"),
      V{"2: UndefinedVar: Usage of undefined variable '$X'"});
}

TEST(Checks, ManyStagesAndNamesStayBounded) {
  // Stages built on one another copy their names; the checks must not turn that quadratic.
  std::string text = "FROM scratch AS s0\n";
  for (int i = 0; i < 2000; ++i) text += "ARG A" + std::to_string(i) + "\n";
  for (int i = 1; i < 1000; ++i) {
    text += "FROM s" + std::to_string(i - 1) + " AS s" + std::to_string(i) + "\n";
  }
  text += "COPY $UNDEFINED /\n";
  auto out = check(text);
  EXPECT_LE(out.size(), 1u);
}

TEST(Checks, RunOverEveryParserGoldenCase) {
  // Whatever the parser accepts, the checks take without failing.
  int ran = 0;
  for (const auto& e : fs::directory_iterator(fs::path(HULL_TESTDATA) / "dockerfile")) {
    std::ifstream in(e.path() / "Dockerfile", std::ios::binary);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    auto df = parse(text.str());
    if (!df) continue;
    for (const auto& w : runChecks(*df, text.str())) {
      EXPECT_GT(w.line, 0) << e.path() << ": " << w.rule;
      EXPECT_FALSE(w.message.empty());
    }
    ++ran;
  }
  EXPECT_GT(ran, 10);
}

// Golden list: tests/testdata/checks/<case>/Dockerfile → expected.txt, "LINE: RULE: message"
// per line. HULL_UPDATE_GOLDEN=1 rewrites expected.txt.
TEST(Checks, Golden) {
  fs::path dir = fs::path(HULL_TESTDATA) / "checks";
  int cases = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory()) continue;
    ++cases;
    std::ifstream in(e.path() / "Dockerfile");
    std::stringstream text;
    text << in.rdbuf();
    std::string got;
    for (const auto& w : check(text.str())) got += w + "\n";
    fs::path want_path = e.path() / "expected.txt";
    if (std::getenv("HULL_UPDATE_GOLDEN")) std::ofstream(want_path) << got;
    std::ifstream want_in(want_path);
    std::stringstream want;
    want << want_in.rdbuf();
    EXPECT_EQ(got, want.str()) << e.path();
  }
  EXPECT_GT(cases, 0);
}

}  // namespace
}  // namespace hull::dockerfile
