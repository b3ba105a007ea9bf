#include "dockerfile/lexer.h"

#include <gtest/gtest.h>

namespace hull::dockerfile {
namespace {

const Env kEnv = {{"A", "a"},        {"EMPTY", ""},
                  {"SP", "x  y"},    {"P", "/usr/local/lib/libfoo.so.1"},
                  {"DASH", "a-b-c"}, {"STAR", "a*b"}};

struct WordCase {
  const char* in;
  const char* out;
};

class ProcessWord : public ::testing::TestWithParam<WordCase> {};

TEST_P(ProcessWord, Expands) {
  auto r = Lexer().processWord(GetParam().in, kEnv);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, GetParam().out) << GetParam().in;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProcessWord,
    ::testing::Values(
        WordCase{"plain", "plain"}, WordCase{"$A", "a"}, WordCase{"${A}", "a"},
        WordCase{"x$A-y", "xa-y"}, WordCase{"$Ab", ""}, WordCase{"${A}b", "ab"},
        WordCase{"$UNSET", ""}, WordCase{"$", "$"}, WordCase{"a$", "a$"}, WordCase{"$1", ""},
        WordCase{"$@x", "x"}, WordCase{"${A:-d}", "a"}, WordCase{"${EMPTY:-d}", "d"},
        WordCase{"${UNSET:-d}", "d"}, WordCase{"${A-d}", "a"}, WordCase{"${EMPTY-d}", ""},
        WordCase{"${UNSET-d}", "d"}, WordCase{"${A:+p}", "p"}, WordCase{"${EMPTY:+p}", ""},
        WordCase{"${UNSET:+p}", ""}, WordCase{"${A+p}", "p"}, WordCase{"${EMPTY+p}", "p"},
        WordCase{"${UNSET+p}", ""}, WordCase{"${A:?m}", "a"}, WordCase{"${EMPTY?m}", ""},
        WordCase{"${UNSET:-$A}", "a"}, WordCase{"${UNSET:-${EMPTY:-${A}}}", "a"},
        WordCase{"${UNSET:-a b}", "a b"}, WordCase{"${UNSET:-'q'}", "q"}, WordCase{"\\$A", "$A"},
        WordCase{"\\\\", "\\"}, WordCase{"a\\ b", "a b"}, WordCase{"'$A'", "$A"},
        WordCase{"\"$A\"", "a"}, WordCase{"\"\\$A\"", "$A"}, WordCase{"\"a\\b\"", "a\\b"},
        WordCase{"\"q\\\"q\"", "q\"q"}, WordCase{"'a\\b'", "a\\b"}, WordCase{"\"'$A'\"", "'a'"},
        WordCase{"'\"'", "\""}, WordCase{"a'b c'd", "ab cd"}, WordCase{"\"\"", ""},
        WordCase{"trailing\\", "trailing"}, WordCase{"$SP", "x  y"},
        WordCase{"${P#*/}", "usr/local/lib/libfoo.so.1"}, WordCase{"${P##*/}", "libfoo.so.1"},
        WordCase{"${P%.*}", "/usr/local/lib/libfoo.so"},
        WordCase{"${P%%.*}", "/usr/local/lib/libfoo"},
        WordCase{"${P#x}", "/usr/local/lib/libfoo.so.1"},
        WordCase{"${P%?}", "/usr/local/lib/libfoo.so."}, WordCase{"${STAR#*\\*}", "b"},
        WordCase{"${UNSET#x}", ""}, WordCase{"${DASH/-/_}", "a_b-c"},
        WordCase{"${DASH//-/_}", "a_b_c"}, WordCase{"${DASH//x/y}", "a-b-c"},
        WordCase{"${DASH/b*/Z}", "a-Z"}, WordCase{"${UNSET//a/b}", ""}));

TEST(Lexer, BacktickEscape) {
  LexOptions opt;
  opt.escape = '`';
  EXPECT_EQ(*Lexer(opt).processWord("C:\\dir`$A", kEnv), "C:\\dir$A");
  EXPECT_EQ(*Lexer(opt).processWord("\"``\"", kEnv), "`");
}

TEST(Lexer, WordsSplitOnUnquotedBlanks) {
  auto w = Lexer().processWords("a \"b c\" $SP 'd e'f ${EMPTY} \"\"", kEnv);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, (std::vector<std::string>{"a", "b c", "x", "y", "d ef"}));
}

TEST(Lexer, RawQuotesAndEscapesKept) {
  LexOptions opt;
  opt.raw_quotes = true;
  opt.raw_escapes = true;
  auto w = Lexer(opt).processWords("cat <<\"EOF\" a\\ b", Env{});
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, (std::vector<std::string>{"cat", "<<\"EOF\"", "a\\ b"}));
}

TEST(Lexer, SkipQuotesForHeredocBodies) {
  LexOptions opt;
  opt.skip_quotes = true;
  EXPECT_EQ(*Lexer(opt).processWord("'$A' \"$A\"\n", kEnv), "'a' \"a\"\n");
}

TEST(Lexer, SkipUnsetKeepsReferences) {
  LexOptions opt;
  opt.skip_unset = true;
  EXPECT_EQ(*Lexer(opt).processWord("$A $NOPE ${NOPE} ${NOPE:-x}", kEnv),
            "a $NOPE ${NOPE} ${NOPE:-x}");
}

struct WordErrorCase {
  const char* in;
  const char* message;
};

class ProcessWordError : public ::testing::TestWithParam<WordErrorCase> {};

TEST_P(ProcessWordError, Fails) {
  auto r = Lexer().processWord(GetParam().in, kEnv);
  ASSERT_FALSE(r) << *r;
  EXPECT_NE(r.error().message.find(GetParam().message), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProcessWordError,
    ::testing::Values(
        WordErrorCase{"${}", "bad substitution"}, WordErrorCase{"${:}", "bad substitution"},
        WordErrorCase{"${{A}", "bad substitution"}, WordErrorCase{"${", "missing '}'"},
        WordErrorCase{"${A", "missing '}'"}, WordErrorCase{"${A:-x", "missing '}'"},
        WordErrorCase{"${A!}", "unsupported modifier (!)"},
        WordErrorCase{"${A:#x}", "unsupported modifier (:#)"},
        WordErrorCase{"${UNSET:?}", "UNSET: is not allowed to be unset"},
        WordErrorCase{"${EMPTY:?}", "EMPTY: is not allowed to be empty"},
        WordErrorCase{"${UNSET?custom}", "UNSET: custom"},
        WordErrorCase{"'open", "matching single-quote"},
        WordErrorCase{"\"open", "matching double-quote"},
        WordErrorCase{"${A#\\x}", "invalid escape"}, WordErrorCase{"${A/x}", "missing '/'"}));

TEST(Lexer, DepthIsCapped) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "${a:-";
  deep += "x";
  for (int i = 0; i < 10000; ++i) deep += "}";
  auto r = Lexer().processWord(deep, kEnv);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested deeper"), std::string::npos);
  std::string ok;
  for (int i = 0; i < 30; ++i) ok += "${a:-";
  ok += "x";
  for (int i = 0; i < 30; ++i) ok += "}";
  EXPECT_EQ(*Lexer().processWord(ok, kEnv), "x");
}

TEST(Lexer, DoublingIsCapped) {
  Env env = {{"A", std::string(1 << 20, 'x')}};
  std::string word;
  for (int i = 0; i < 64; ++i) word += "$A";
  auto r = Lexer().processWord(word, env);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("larger than"), std::string::npos);
}

TEST(ShellPattern, PrefixAndSuffix) {
  auto p = ShellPattern::compile("*b");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->matchPrefix("abcabc", false), 2u);
  EXPECT_EQ(p->matchPrefix("abcabc", true), 5u);
  EXPECT_EQ(p->matchPrefix("xyz", true), std::string::npos);
  auto q = ShellPattern::compile("c*");
  EXPECT_EQ(q->matchSuffix("abcabc", false), 1u);
  EXPECT_EQ(q->matchSuffix("abcabc", true), 4u);
  auto empty = ShellPattern::compile("");
  EXPECT_EQ(empty->matchPrefix("abc", true), 0u);
}

TEST(ShellPattern, LongValuesStayLinear) {
  // Many stars against a long value: the automaton keeps this linear in each.
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "*a";
  auto p = ShellPattern::compile(pattern + "b");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->matchPrefix(std::string(100000, 'a'), true), std::string::npos);
}

}  // namespace
}  // namespace hull::dockerfile
