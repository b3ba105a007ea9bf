// .dockerignore semantics, case by case. Expected values follow docker/cli's reader,
// moby/patternmatcher and BuildKit's walker; the cases marked "Docker quirk" are deliberate.
#include "dockerfile/dockerignore.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hull::dockerfile {
namespace {

struct MatchCase {
  const char* dockerignore;
  const char* path;
  bool excluded;
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
  return os << "patterns=\"" << c.dockerignore << "\" path=\"" << c.path << "\"";
}

class DockerignoreMatch : public testing::TestWithParam<MatchCase> {};

TEST_P(DockerignoreMatch, Matches) {
  const MatchCase& c = GetParam();
  auto m = IgnoreMatcher::parse(c.dockerignore);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->matches(c.path), c.excluded);
}

const MatchCase kMatchCases[] = {
    // The documented examples.
    {"# comment\n*/temp*", "somedir/temporary.txt", true},
    {"*/temp*", "somedir/temp", true},
    {"*/temp*", "somedir/temp/inside.txt", true},
    {"*/temp*", "temp", false},
    {"*/temp*", "a/b/temp", false},
    {"*/*/temp*", "somedir/subdir/temporary.txt", true},
    {"*/*/temp*", "somedir/temporary.txt", false},
    {"temp?", "tempa", true},
    {"temp?", "tempab", false},
    {"temp?", "temp", false},
    {"temp?", "dir/tempa", false},
    {"temp?", "tempa/file", true},
    {"**/*.go", "main.go", true},
    {"**/*.go", "a/b/c.go", true},
    {"**/*.go", "a/b/c.gox", false},
    {"*.md\n!README.md", "README.md", false},
    {"*.md\n!README.md", "CHANGES.md", true},
    {"*.md\n!README.md", "docs/other.md", false},
    {"*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true},
    {"*.md\n!README*.md\nREADME-secret.md", "README-public.md", false},
    {"*.md\n!README*.md\nREADME-secret.md", "NOTES.md", true},
    {"*.md\nREADME-secret.md\n!README*.md", "README-secret.md", false},
    // A directory pattern excludes everything below it; exceptions re-include below it.
    {"docs", "docs", true},
    {"docs", "docs/a/b/c.txt", true},
    {"docs", "docsy", false},
    {"docs\n!docs/README.md", "docs/README.md", false},
    {"docs\n!docs/README.md", "docs/other.md", true},
    {"docs/\n!docs/README.md", "docs/README.md", false},
    {"docs/\n!docs/README.md", "docs/other.md", true},
    {"docs/*\n!docs/README.md", "docs", false},
    {"docs/*\n!docs/README.md", "docs/README.md", false},
    {"build\n!build/keep/**", "build/keep", true},
    {"build\n!build/keep/**", "build/keep/x/y", false},
    {"node_modules\n!node_modules/*/package.json", "node_modules/a/package.json", false},
    {"node_modules\n!node_modules/*/package.json", "node_modules/a/index.js", true},
    {"*\n!keep", "keep/inner/file", false},
    {"*\n!keep", "other/file", true},
    {"**\n!util/docker/web", "util/docker/web/foo", false},
    {"**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo", true},
    {"**\n!dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false},
    // Docker quirk: the walker matches a parent before its entries, and an exception it skipped
    // for the parent (nothing was excluded yet) is not tried on the parent again later.
    {"foo/bar\n!foo", "foo/bar", true},
    // The last matching line wins.
    {"!foo\nfoo", "foo", true},
    {"foo\n!foo", "foo", false},
    {"foo\n!foo\nfoo", "foo/x", true},
    // "**" matches any number of directories, including none.
    {"**", "anything/at/all", true},
    {"**/foo", "foo", true},
    {"**/foo", "a/b/foo", true},
    {"**/foo", "a/foo/x", true},
    {"**/foo", "afoo", false},
    {"a/**/b", "a/b", true},
    {"a/**/b", "a/x/y/b", true},
    {"foo/**", "foo", false},
    {"foo/**", "foo/x/y", true},
    {"**/dir2/*", "dir/dir2/file", true},
    {"a**/*.txt", "a/dir/dir/file.txt", true},
    {"**/**/*.txt2", "dir/dir/file.txt", false},
    // Docker quirks of the prefix/suffix shortcuts and of the "**" regexp.
    {"**foo", "barfoo", true},
    {"foo**", "food", true},
    {"a**b", "axb", false},
    // Single-segment wildcards never cross a '/'.
    {"a?b", "a/b", false},
    {"a*b", "a/b", false},
    {"a*", "ab/c", true},
    {"*", "a/b", true},
    // Character classes: '^' negates, '!' is literal.
    {"file[0-9].txt", "file7.txt", true},
    {"file[0-9].txt", "filex.txt", false},
    {"[^a]bc", "xbc", true},
    {"[^a]bc", "abc", false},
    {"[!a]bc", "!bc", true},
    {"[!a]bc", "xbc", false},
    {"a[b-d]e", "ace", true},
    {"a[b-d]e", "ae", false},
    // Escapes.
    {"\\*.txt", "*.txt", true},
    {"\\*.txt", "a.txt", false},
    {"a\\?b", "a?b", true},
    {"a\\?b", "axb", false},
    {"\\[x\\]", "[x]", true},
    {"a\\\\", "a\\", true},
    {"\\#notes", "#notes", true},
    // Docker quirk: an escaped letter keeps its regexp meaning ("\d" is a digit).
    {"v\\d", "v1", true},
    {"v\\d", "vd", false},
    // Docker quirk: '^' outside a class is an anchor once the pattern is a regexp.
    {"x^*", "x^y", false},
    {"x^y", "x^y", true},
    // Regexp metacharacters are literal.
    {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
    {"abc.def", "abcXdef", false},
    {".*", ".git", true},
    {".*", "git", false},
    // Comments, whitespace, line endings.
    {"# comment", "# comment", false},
    {" #notacomment", "#notacomment", true},
    {"  foo  \n", "foo", true},
    {"\tfoo bar\t", "foo bar", true},
    {"foo\r\nbar\r\n", "bar", true},
    {"\xEF\xBB\xBF"
     "foo",
     "foo", true},
    {"\n\n\nfoo\n\n", "foo", true},
    {"", "foo", false},
    // Cleaning: leading "/" and "./", "..", repeated and trailing slashes.
    {"/foo", "foo", true},
    {"./foo", "foo", true},
    {"foo/../bar", "bar", true},
    {"foo/../bar", "foo", false},
    {"//a///b//", "a/b", true},
    {"! foo\n*", "foo", true},
    {"*\n! /foo", "foo", false},
    // Paths are cleaned before matching; the context root is never excluded.
    {"foo", "./foo", true},
    {"foo", "foo/", true},
    {"*", ".", false},
    {"**", "", false},
    // Runes, not bytes.
    {"?.txt", "\xC3\xBC.txt", true},
    {"*.txt", "\xC3\xBC.txt", true},
    {"?.txt", "\xFF.txt", true},
};

INSTANTIATE_TEST_SUITE_P(Cases, DockerignoreMatch, testing::ValuesIn(kMatchCases));

struct IgnoreErrorCase {
  const char* dockerignore;
  const char* message;
};

class DockerignoreError : public testing::TestWithParam<IgnoreErrorCase> {};

TEST_P(DockerignoreError, IsRejectedWithLine) {
  const IgnoreErrorCase& c = GetParam();
  auto m = IgnoreMatcher::parse(c.dockerignore);
  ASSERT_FALSE(m) << c.dockerignore;
  EXPECT_EQ(m.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(m.error().message, c.message);
}

const IgnoreErrorCase kErrorCases[] = {
    {"!", ".dockerignore:1: illegal exclusion pattern: \"!\""},
    {"*.go\n  !  \n", ".dockerignore:2: illegal exclusion pattern: \"!\""},
    {"# x\n!/", ".dockerignore:2: illegal exclusion pattern: \"!\""},
    {"ok\n[", ".dockerignore:2: syntax error in pattern \"[\""},
    {"a[", ".dockerignore:1: syntax error in pattern \"a[\""},
    {"[]a]", ".dockerignore:1: syntax error in pattern \"[]a]\""},
    {"[x-]", ".dockerignore:1: syntax error in pattern \"[x-]\""},
    {"[a-b-c]", ".dockerignore:1: syntax error in pattern \"[a-b-c]\""},
    {"\n\nfoo\\", ".dockerignore:3: syntax error in pattern \"foo\\\""},
    {"*.go\n!*[", ".dockerignore:2: syntax error in pattern \"*[\""},
};

INSTANTIATE_TEST_SUITE_P(Cases, DockerignoreError, testing::ValuesIn(kErrorCases));

TEST(Dockerignore, RegexpErrorsFailTheParse) {
  // Docker compiles the regexp on first use and fails the build; here the parse fails.
  auto m = IgnoreMatcher::parse("ok\nv\\q*");
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().message.starts_with(".dockerignore:2: invalid pattern \"v\\q*\""))
      << m.error().message;
  EXPECT_FALSE(IgnoreMatcher::parse("\\C*"));
}

TEST(Dockerignore, OverlongLineIsAnError) {
  std::string text = "ok\n" + std::string(64 * 1024, 'a');
  auto m = IgnoreMatcher::parse(text);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, ".dockerignore:2: line longer than 65536 bytes");
  EXPECT_TRUE(IgnoreMatcher::parse("ok\n" + std::string(64 * 1024 - 1, 'a')));
}

TEST(Dockerignore, SourceNameAppearsInErrors) {
  auto m = IgnoreMatcher::parse("!", "Dockerfile.dockerignore");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "Dockerfile.dockerignore:1: illegal exclusion pattern: \"!\"");
}

TEST(Dockerignore, KeepsCleanedPatternsWithLines) {
  auto m = IgnoreMatcher::parse("# c\n/a/./b/\n\n! ./c\n");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->patterns().size(), 2u);
  EXPECT_EQ(m->patterns()[0].pattern, "a/b");
  EXPECT_FALSE(m->patterns()[0].exception);
  EXPECT_EQ(m->patterns()[0].line, 2);
  EXPECT_EQ(m->patterns()[1].pattern, "c");
  EXPECT_TRUE(m->patterns()[1].exception);
  EXPECT_EQ(m->patterns()[1].line, 4);
  EXPECT_TRUE(m->hasExceptions());
}

TEST(Dockerignore, FromPatterns) {
  std::vector<std::string> list = {"*.go", " !main.go ", ""};
  auto m = IgnoreMatcher::fromPatterns(list);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->matches("util.go"));
  EXPECT_FALSE(m->matches("main.go"));
  std::vector<std::string> bad = {"!"};
  EXPECT_FALSE(IgnoreMatcher::fromPatterns(bad));
  EXPECT_FALSE(IgnoreMatcher().matches("anything"));
}

struct SkipCase {
  const char* dockerignore;
  const char* dir;
  bool skippable;
};

class DockerignoreSkip : public testing::TestWithParam<SkipCase> {};

TEST_P(DockerignoreSkip, CanSkipExcludedDir) {
  const SkipCase& c = GetParam();
  auto m = IgnoreMatcher::parse(c.dockerignore);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->matches(c.dir)) << "the case must name an excluded directory";
  EXPECT_EQ(m->canSkipExcludedDir(c.dir), c.skippable) << c.dockerignore << " " << c.dir;
}

const SkipCase kSkipCases[] = {
    {"build", "build", true},
    {"build\n!build/keep", "build", false},
    {"build\n!docs", "build", true},
    {"build\n!build/keep/**", "build", false},
    {"build\n!build/keep/**", "build/other", true},
    {"build\n!build/keep/*", "build", false},
    {"build\n!*/keep", "build", false},  // a wildcard exception may reach anywhere
    {"build\n!**/keep.txt", "build", false},
    {"build\n!docs/[ab]", "build", false},
    {"a\n!a/b/c", "a/b", false},
    {"a\n!a/bc", "a/b", true},
};

INSTANTIATE_TEST_SUITE_P(Cases, DockerignoreSkip, testing::ValuesIn(kSkipCases));

// A walker carrying DirState from each directory to its entries gets what matches() says.
TEST(Dockerignore, WalkStepsAgreeWithMatches) {
  auto m = IgnoreMatcher::parse("foo/bar\n!foo\n*.md\n!README*.md\ndocs\n!docs/keep/**\n**/tmp");
  ASSERT_TRUE(m) << m.error().message;
  const std::vector<std::vector<std::string>> chains = {
      {"foo", "foo/bar", "foo/bar/x"},
      {"docs", "docs/keep", "docs/keep/a.md"},
      {"docs", "docs/drop", "docs/drop/README.md"},
      {"src", "src/tmp", "src/tmp/README.md"},
  };
  for (const auto& chain : chains) {
    IgnoreMatcher::DirState state;
    for (const std::string& path : chain) {
      IgnoreMatcher::DirState next;
      EXPECT_EQ(m->matchesInWalk(path, state, &next), m->matches(path)) << path;
      state = next;
    }
  }
  EXPECT_TRUE(m->matches("foo/bar/x"));
  EXPECT_FALSE(m->matches("docs/keep/a.md"));
  EXPECT_TRUE(m->matches("docs/drop/README.md"));
  EXPECT_TRUE(m->matches("src/tmp/README.md"));
}

// Go's filepath.Match, the syntax check behind every pattern.
struct GlobCase {
  const char* pattern;
  const char* name;
  bool match;
  bool bad;
};

class GlobMatch : public testing::TestWithParam<GlobCase> {};

TEST_P(GlobMatch, LikeGo) {
  const GlobCase& c = GetParam();
  auto r = globMatch(c.pattern, c.name);
  if (c.bad) {
    EXPECT_FALSE(r) << c.pattern;
  } else {
    ASSERT_TRUE(r) << c.pattern << ": " << r.error().message;
    EXPECT_EQ(*r, c.match) << c.pattern << " " << c.name;
  }
}

const GlobCase kGlobCases[] = {
    {"abc", "abc", true, false},
    {"*", "abc", true, false},
    {"*c", "abc", true, false},
    {"a*", "a", true, false},
    {"a*", "abc", true, false},
    {"a*", "ab/c", false, false},
    {"a*/b", "abc/b", true, false},
    {"a*/b", "a/c/b", false, false},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
    {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
    {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
    {"ab[c]", "abc", true, false},
    {"ab[b-d]", "abc", true, false},
    {"ab[e-g]", "abc", false, false},
    {"ab[^c]", "abc", false, false},
    {"ab[^b-d]", "abc", false, false},
    {"ab[^e-g]", "abc", true, false},
    {"a\\*b", "a*b", true, false},
    {"a\\*b", "ab", false, false},
    {"a?b",
     "a\xE2\x98\xBA"
     "b",
     true, false},
    {"a[^a]b",
     "a\xE2\x98\xBA"
     "b",
     true, false},
    {"a???b",
     "a\xE2\x98\xBA"
     "b",
     false, false},
    {"a[^a][^a][^a]b",
     "a\xE2\x98\xBA"
     "b",
     false, false},
    {"[a-\xCE\xB6]*", "\xCE\xB1", true, false},
    {"*[a-\xCE\xB6]", "A", false, false},
    {"a?b", "a/b", false, false},
    {"a*b", "a/b", false, false},
    {"[\\]a]", "]", true, false},
    {"[\\-]", "-", true, false},
    {"[x\\-]", "x", true, false},
    {"[x\\-]", "-", true, false},
    {"[x\\-]", "z", false, false},
    {"[\\-x]", "x", true, false},
    {"[\\-x]", "-", true, false},
    {"[\\-x]", "a", false, false},
    {"[]a]", "]", false, true},
    {"[-]", "-", false, true},
    {"[x-]", "x", false, true},
    {"[-x]", "x", false, true},
    {"\\", "a", false, true},
    {"[a-b-c]", "a", false, true},
    {"[", "a", false, true},
    {"[^", "a", false, true},
    {"[^bc", "a", false, true},
    {"a[", "a", false, true},
    {"a[", "ab", false, true},
    {"a[", "x", false, true},
    {"a/b[", "a/c", false, true},
    {"*x", "xxx", true, false},
};

INSTANTIATE_TEST_SUITE_P(Cases, GlobMatch, testing::ValuesIn(kGlobCases));

TEST(CleanPath, LikeGo) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "."},
      {"abc", "abc"},
      {"abc/def", "abc/def"},
      {".", "."},
      {"..", ".."},
      {"../..", "../.."},
      {"../../abc", "../../abc"},
      {"/abc", "/abc"},
      {"/", "/"},
      {"abc/", "abc"},
      {"/abc/", "/abc"},
      {"abc//def//ghi", "abc/def/ghi"},
      {"//abc", "/abc"},
      {"abc/./def", "abc/def"},
      {"/./abc/def", "/abc/def"},
      {"abc/.", "abc"},
      {"abc/def/../ghi/../jkl", "abc/jkl"},
      {"abc/def/..", "abc"},
      {"abc/def/../..", "."},
      {"/abc/def/../..", "/"},
      {"abc/def/../../..", ".."},
      {"/abc/def/../../..", "/"},
      {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
      {"/../abc", "/abc"},
      {"abc/./../def", "def"},
      {"abc//./../def", "def"},
      {"abc/../../././../def", "../../def"},
      {"!/", "!"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(cleanPath(in), want) << in;
}

}  // namespace
}  // namespace hull::dockerfile
