#include <gtest/gtest.h>

#include "dockerfile/ast.h"
#include "dockerfile/dockerfile.h"
#include "dockerfile/line_parsers.h"
#include "dockerfile/text.h"

namespace hull::dockerfile {
namespace {

TEST(ParseWords, KeepsQuotesAndEscapes) {
  EXPECT_EQ(parseWords("a=\"b c\" d='e f' g\\ h", '\\'),
            (std::vector<std::string>{"a=\"b c\"", "d='e f'", "g\\ h"}));
  EXPECT_EQ(parseWords("  x   y  ", '\\'), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(parseWords("a=\"\"", '\\'), (std::vector<std::string>{"a=\"\""}));
  EXPECT_EQ(parseWords("'a\\' b", '\\'), (std::vector<std::string>{"'a\\'", "b"}));
}

TEST(ExtractFlags, StopsAtFirstNonFlag) {
  std::vector<std::string> flags;
  auto rest = extractBuilderFlags("--from=a --chown=\"1 2\" src dst", &flags);
  EXPECT_EQ(flags, (std::vector<std::string>{"--from=a", "--chown=1 2"}));
  EXPECT_EQ(rest, "src dst");
  flags.clear();
  rest = extractBuilderFlags("--link -- --src dst", &flags);
  EXPECT_EQ(flags, (std::vector<std::string>{"--link"}));
  EXPECT_EQ(rest, " --src dst");
  flags.clear();
  rest = extractBuilderFlags("-x --y", &flags);
  EXPECT_TRUE(flags.empty());
  EXPECT_EQ(rest, "-x --y");
}

TEST(NodeFromLine, SplitsPerKeyword) {
  auto n = nodeFromLine("  RUN   --network=none  echo  hi ", '\\');
  ASSERT_TRUE(n);
  EXPECT_EQ(n->keyword, "RUN");
  EXPECT_EQ(n->flags, (std::vector<std::string>{"--network=none"}));
  EXPECT_EQ(n->args, (std::vector<std::string>{"echo  hi"}));
  EXPECT_FALSE(n->json);
  n = nodeFromLine("ENV a=1 b=\"2 3\"", '\\');
  EXPECT_EQ(n->args, (std::vector<std::string>{"a", "1", "=", "b", "\"2 3\"", "="}));
  n = nodeFromLine("ENV a   1 2", '\\');
  EXPECT_EQ(n->args, (std::vector<std::string>{"a", "1 2", ""}));
  n = nodeFromLine("COPY [\"a\", \"b\"]", '\\');
  EXPECT_TRUE(n->json);
  EXPECT_EQ(n->args, (std::vector<std::string>{"a", "b"}));
  n = nodeFromLine("HEALTHCHECK CMD [\"x\"]", '\\');
  EXPECT_EQ(n->args, (std::vector<std::string>{"CMD", "x"}));
  EXPECT_TRUE(n->json);
  n = nodeFromLine("ONBUILD RUN x", '\\');
  ASSERT_EQ(n->children.size(), 1u);
  EXPECT_EQ(n->children[0].keyword, "RUN");
}

TEST(ParseAst, LinesAndHeredocs) {
  auto ast = parseAst("FROM a\n\nRUN x \\\n  y\nRUN <<A cat\nbody\nA\n");
  ASSERT_TRUE(ast) << ast.error().message;
  ASSERT_EQ(ast->nodes.size(), 3u);
  EXPECT_EQ(ast->nodes[1].range, (SourceRange{3, 4}));
  EXPECT_EQ(ast->nodes[1].args[0], "x   y");
  EXPECT_EQ(ast->nodes[2].range, (SourceRange{5, 7}));
  ASSERT_EQ(ast->nodes[2].heredocs.size(), 1u);
  EXPECT_EQ(ast->nodes[2].heredocs[0].content, "body\n");
}

TEST(ParseAst, CommentsAboveInstructionsAreKept) {
  auto ast = parseAst("# first\n# second\nFROM a\n#\n# only this\nRUN x\n");
  ASSERT_TRUE(ast);
  EXPECT_EQ(ast->nodes[0].comments, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(ast->nodes[1].comments, (std::vector<std::string>{"only this"}));
}

TEST(ParseAst, HeredocWord) {
  bool is = false;
  auto h = parseHeredocWord("<<-'E O'", &is);
  ASSERT_TRUE(h);
  EXPECT_TRUE(is);  // the quoted blank keeps one word
  EXPECT_EQ(h->name, "E O");
  h = parseHeredocWord("<<-\"EOF\"", &is);
  EXPECT_TRUE(is);
  EXPECT_EQ(h->name, "EOF");
  EXPECT_TRUE(h->chomp);
  EXPECT_FALSE(h->expand);
  h = parseHeredocWord("<<EOF", &is);
  EXPECT_TRUE(is && h->expand && !h->chomp);
  parseHeredocWord("<<", &is).value();
  EXPECT_FALSE(is);
  parseHeredocWord("a<<EOF", &is).value();
  EXPECT_FALSE(is);
}

TEST(ParseAst, SizeIsCapped) {
  std::string big(kMaxDockerfileSize + 1, '#');
  auto r = parseAst(big);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("larger than 4 MiB"), std::string::npos);
}

TEST(Suggest, WithinTwoEdits) {
  EXPECT_EQ(suggest("RUNN", {"RUN", "ARG"}), "RUN");
  EXPECT_EQ(suggest("cpy", {"COPY", "RUN"}), "COPY");
  EXPECT_EQ(suggest("zzzzzz", {"COPY", "RUN"}), "");
}

TEST(Durations, GoSyntax) {
  EXPECT_EQ(*parseDuration("30s"), 30'000'000'000);
  EXPECT_EQ(*parseDuration("1m30s"), 90'000'000'000);
  EXPECT_EQ(*parseDuration("1.5h"), 5'400'000'000'000);
  EXPECT_EQ(*parseDuration("500ms"), 500'000'000);
  EXPECT_EQ(*parseDuration("0"), 0);
  EXPECT_EQ(*parseDuration("-1s"), -1'000'000'000);
  EXPECT_FALSE(parseDuration("30"));
  EXPECT_FALSE(parseDuration("abc"));
  EXPECT_FALSE(parseDuration("1x"));
  EXPECT_FALSE(parseDuration(""));
  EXPECT_FALSE(parseDuration("9999999999h"));
}

TEST(Mounts, Defaults) {
  auto m = parseMount("target=/x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "bind");
  EXPECT_TRUE(m->readonly);
  m = parseMount("type=cache,target=/c");
  EXPECT_FALSE(m->readonly);
  m = parseMount("type=secret,id=tok");
  EXPECT_EQ(m->target, "/run/secrets/tok");
  m = parseMount("type=ssh");
  EXPECT_EQ(m->id, "default");
  EXPECT_FALSE(parseMount("type=bind,target=/x,mode=0755"));
  EXPECT_FALSE(parseMount("type=bind,target=\"/x"));
}

TEST(Parse, PlatformIsInjectable) {
  ParseOptions opt;
  opt.build_platform = oci::Platform{"riscv64", "linux", "", "", {}};
  auto df = parse("FROM --platform=$BUILDPLATFORM a\nARG TARGETARCH\nENV A=$TARGETARCH\n", opt);
  ASSERT_TRUE(df) << df.error().message;
  EXPECT_EQ(df->stages[0].platform, "linux/riscv64");
  auto& env = std::get<EnvInstr>(df->stages[0].instructions[1].body);
  EXPECT_EQ(env.vars[0].value, "riscv64");
}

TEST(Parse, FileNameInErrors) {
  ParseOptions opt;
  opt.file = "build/Dockerfile.dev";
  auto df = parse("FROM a\nRUNN x\n", opt);
  ASSERT_FALSE(df);
  EXPECT_EQ(df.error().message,
            "build/Dockerfile.dev:2: unknown instruction: RUNN (did you mean RUN?)");
}

TEST(Parse, TextFormatListsStages) {
  auto df = parse("FROM a AS b\nRUN x\nFROM b\n");
  ASSERT_TRUE(df);
  std::string text = toText(*df);
  EXPECT_NE(text.find("stage 0 (b): FROM a"), std::string::npos) << text;
  EXPECT_NE(text.find("RUN x"), std::string::npos) << text;
  EXPECT_NE(text.find("stage 1: FROM b  <- target"), std::string::npos) << text;
}

}  // namespace
}  // namespace hull::dockerfile
