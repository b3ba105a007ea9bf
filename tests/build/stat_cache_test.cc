// StatCache: digests remembered by stat, re-read when the stat changes, persisted atomically,
// unused entries dropped on save, safe from several threads.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <thread>

#include <gtest/gtest.h>

#include "base/json.h"
#include "build/copy.h"
#include "copy_test_util.h"

namespace hull::build {
namespace {

using testing::TempDir;
using testing::writeText;

struct stat statOf(const fs::path& p) {
  struct stat st = {};
  ::lstat(p.c_str(), &st);
  return st;
}

TEST(StatCacheTest, MissingOrBrokenFileIsAnEmptyCache) {
  TempDir dir;
  writeText(dir.path() / "f", "abc");
  writeText(dir.path() / "broken.json", "{not json");
  for (const char* name : {"missing.json", "broken.json"}) {
    auto cache = StatCache::open(dir.path() / name);
    auto d = cache->fileDigest(dir.path() / "f", statOf(dir.path() / "f"));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, Digest::ofBytes("abc"));
  }
}

TEST(StatCacheTest, HitUsesTheRememberedDigest) {
  TempDir dir;
  const fs::path f = dir.path() / "f";
  writeText(f, "abc");
  const fs::path file = dir.path() / "cache.json";
  auto cache = StatCache::open(file);
  struct stat st = statOf(f);
  ASSERT_EQ(*cache->fileDigest(f, st), Digest::ofBytes("abc"));
  ASSERT_TRUE(cache->save());
  ASSERT_TRUE(fs::exists(file));
  // A stored entry is trusted while the stat matches: the proof is a forged digest coming back.
  auto json = parseJson(*readFile(file), "cache");
  ASSERT_TRUE(json);
  (*json)["entries"][f.string()]["digest"] = Digest::ofBytes("forged").str();
  writeText(file, json->dump());
  auto reopened = StatCache::open(file);
  EXPECT_EQ(*reopened->fileDigest(f, st), Digest::ofBytes("forged"));
  // Any change of size, mtime, ctime or inode reads the file again.
  struct stat changed = st;
  changed.st_mtim.tv_nsec += 1;
  EXPECT_EQ(*reopened->fileDigest(f, changed), Digest::ofBytes("abc"));
}

TEST(StatCacheTest, RewriteWithSameSizeIsSeen) {
  TempDir dir;
  const fs::path f = dir.path() / "f";
  writeText(f, "abc");
  auto cache = StatCache::open(dir.path() / "c.json");
  ASSERT_TRUE(cache->fileDigest(f, statOf(f)));
  struct stat before = statOf(f);
  writeText(f, "xyz");
  struct timespec times[2] = {before.st_mtim, before.st_mtim};
  ::utimensat(AT_FDCWD, f.c_str(), times, 0);  // same mtime, new ctime and inode
  EXPECT_EQ(*cache->fileDigest(f, statOf(f)), Digest::ofBytes("xyz"));
}

TEST(StatCacheTest, SaveDropsUnusedEntries) {
  TempDir dir;
  writeText(dir.path() / "a", "a");
  writeText(dir.path() / "b", "b");
  const fs::path file = dir.path() / "c.json";
  {
    auto cache = StatCache::open(file);
    ASSERT_TRUE(cache->fileDigest(dir.path() / "a", statOf(dir.path() / "a")));
    ASSERT_TRUE(cache->fileDigest(dir.path() / "b", statOf(dir.path() / "b")));
    ASSERT_TRUE(cache->save());
  }
  {
    auto cache = StatCache::open(file);
    ASSERT_TRUE(cache->fileDigest(dir.path() / "a", statOf(dir.path() / "a")));
    ASSERT_TRUE(cache->save());
  }
  auto json = parseJson(*readFile(file), "cache");
  ASSERT_TRUE(json);
  EXPECT_TRUE((*json)["entries"].contains((dir.path() / "a").string()));
  EXPECT_FALSE((*json)["entries"].contains((dir.path() / "b").string()));
}

TEST(StatCacheTest, ThreadSafe) {
  TempDir dir;
  for (int i = 0; i < 20; ++i) writeText(dir.path() / std::to_string(i), std::to_string(i));
  auto cache = StatCache::open(dir.path() / "c.json");
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        fs::path p = dir.path() / std::to_string(i);
        auto d = cache->fileDigest(p, statOf(p));
        if (!d || *d != Digest::ofBytes(std::to_string(i))) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(cache->save());
}

}  // namespace
}  // namespace hull::build
