// sourcesDigest: the cache input of a COPY/ADD is the content of its sources, never their
// mtimes, owners or inode numbers.
#include <sys/time.h>

#include <gtest/gtest.h>

#include "copy_test_util.h"
#include "dockerfile/dockerignore.h"

namespace hull::build {
namespace {

using testing::spec;
using testing::TempDir;
using testing::writeText;

Digest digestOf(const fs::path& ctx, const CopySpec& s, StatCache* cache = nullptr,
                const dockerfile::IgnoreMatcher* ignore = nullptr) {
  SourceTree tree;
  tree.root = ctx;
  tree.stat_cache = cache;
  tree.ignore = ignore;
  CopyEnv env;
  env.tmp_dir = "/tmp";
  auto op = CopyOp::prepare(tree, s, env);
  EXPECT_TRUE(op) << op.error().message;
  return op ? op->sourcesDigest() : Digest();
}

class CopyDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writeText(ctx() / "app/main.py", "print(1)\n");
    writeText(ctx() / "app/lib/util.py", "x = 1\n");
    writeText(ctx() / "requirements.txt", "numpy\n");
  }
  fs::path ctx() const { return context_.path(); }
  TempDir context_;
};

TEST_F(CopyDigestTest, TouchKeepsTheDigest) {
  const auto s = spec({"app"}, "/app/");
  Digest before = digestOf(ctx(), s);
  ASSERT_FALSE(before.empty());
  struct timeval times[2] = {{12345, 0}, {12345, 0}};
  ::utimes((ctx() / "app/main.py").c_str(), times);
  ::utimes((ctx() / "app").c_str(), times);
  EXPECT_EQ(digestOf(ctx(), s), before);
  if (::geteuid() == 0) {
    ::chown((ctx() / "app/main.py").c_str(), 99, 99);
    EXPECT_EQ(digestOf(ctx(), s), before);
  }
  // Rewriting the same bytes (a new inode) keeps it too.
  fs::remove(ctx() / "app/main.py");
  writeText(ctx() / "app/main.py", "print(1)\n");
  EXPECT_EQ(digestOf(ctx(), s), before);
}

TEST_F(CopyDigestTest, ContentModeNameAndLinkChangeIt) {
  const auto s = spec({"app"}, "/app/");
  Digest base = digestOf(ctx(), s);
  writeText(ctx() / "app/main.py", "print(2)\n");
  Digest content = digestOf(ctx(), s);
  EXPECT_NE(content, base);
  ::chmod((ctx() / "app/main.py").c_str(), 0755);
  Digest mode = digestOf(ctx(), s);
  EXPECT_NE(mode, content);
  fs::rename(ctx() / "app/main.py", ctx() / "app/main2.py");
  Digest name = digestOf(ctx(), s);
  EXPECT_NE(name, mode);
  fs::create_symlink("main2.py", ctx() / "app/l");
  Digest link = digestOf(ctx(), s);
  EXPECT_NE(link, name);
  fs::remove(ctx() / "app/l");
  fs::create_symlink("lib", ctx() / "app/l");
  EXPECT_NE(digestOf(ctx(), s), link);
}

TEST_F(CopyDigestTest, UnrelatedFilesDoNotMatter) {
  const auto s = spec({"requirements.txt"}, "/r/");
  Digest before = digestOf(ctx(), s);
  writeText(ctx() / "app/main.py", "changed\n");
  EXPECT_EQ(digestOf(ctx(), s), before);
}

TEST_F(CopyDigestTest, IgnoredFilesDoNotMatter) {
  auto ignore = dockerfile::IgnoreMatcher::parse("**/*.pyc\n");
  ASSERT_TRUE(ignore);
  const auto s = spec({"."}, "/all/");
  Digest before = digestOf(ctx(), s, nullptr, &*ignore);
  writeText(ctx() / "app/x.pyc", "junk");
  EXPECT_EQ(digestOf(ctx(), s, nullptr, &*ignore), before);
  EXPECT_NE(digestOf(ctx(), s), before);
}

TEST_F(CopyDigestTest, HostPathIsNotPartOfIt) {
  TempDir other;
  fs::copy(ctx(), other.path(), fs::copy_options::recursive);
  const auto s = spec({"app"}, "/app/");
  EXPECT_EQ(digestOf(ctx(), s), digestOf(other.path(), s));
}

TEST_F(CopyDigestTest, StatCacheGivesTheSameDigest) {
  TempDir store;
  auto cache = StatCache::open(store.path() / "cache/context-stat.json");
  const auto s = spec({"app"}, "/app/");
  EXPECT_EQ(digestOf(ctx(), s, cache.get()), digestOf(ctx(), s));
  ASSERT_TRUE(cache->save());
  auto again = StatCache::open(store.path() / "cache/context-stat.json");
  EXPECT_EQ(digestOf(ctx(), s, again.get()), digestOf(ctx(), s));
}

TEST_F(CopyDigestTest, InlineContentIsPartOfIt) {
  auto s = spec({}, "/f");
  s.inline_sources.push_back({"EOF", "a\n", true, false});
  Digest a = digestOf(ctx(), s);
  s.inline_sources[0].content = "b\n";
  EXPECT_NE(digestOf(ctx(), s), a);
}

}  // namespace
}  // namespace hull::build
