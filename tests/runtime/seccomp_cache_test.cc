// The on-disk cache of compiled seccomp filters: hit, miss, a changed profile, damaged entries
// and entries or directories it must not trust; and a filter from the cache really filters.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "base/digest.h"
#include "base/fs.h"
#include "runtime/seccomp.h"
#include "runtime/seccomp_cache.h"

namespace hull::runtime {
namespace {

namespace fs = std::filesystem;

class SeccompCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hull-seccomp-cache.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    cache_dir_ = SeccompCache::forRuntimeRoot(base_ / "state");
  }
  void TearDown() override { (void)removeAll(base_); }

  static oci::Seccomp profile() {
    oci::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_NATIVE"};
    s.syscalls = {
        {.names = {"mkdir", "mkdirat"}, .action = "SCMP_ACT_ERRNO", .errno_ret = 13u, .args = {}},
        {.names = {"getpriority"},
         .action = "SCMP_ACT_ERRNO",
         .errno_ret = {},
         .args = {{.index = 0, .value = 1, .value_two = 0, .op = "SCMP_CMP_EQ"}}}};
    return s;
  }

  // Builds through the cache and says whether the entry was used.
  bool buildHits(const oci::Seccomp& s) {
    auto f = SeccompFilter::build(s, true, SeccompCache(cache_dir_));
    EXPECT_TRUE(f) << f.error().message;
    if (!f) return false;
    auto plain = SeccompFilter::build(s, true);
    EXPECT_TRUE(plain);
    EXPECT_EQ(bytes(*f->program()), bytes(*plain->program()));  // same program either way
    return f->fromCache();
  }

  static std::string bytes(const BpfProgram& p) {
    return std::string(reinterpret_cast<const char*>(p.data()), p.size() * sizeof(sock_filter));
  }

  fs::path entry(const oci::Seccomp& s) const {
    return SeccompCache(cache_dir_).entryPath(seccompCacheKey(s));
  }

  std::size_t entryCount() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(cache_dir_)) n += e.path().extension() == ".bpf";
    return n;
  }

  fs::path base_;
  fs::path cache_dir_;
};

TEST(SeccompCachePath, NextToTheStateRoot) {
  EXPECT_EQ(SeccompCache::forRuntimeRoot("/run/hull-runtime"), "/run/hull-runtime.seccomp-cache");
  EXPECT_EQ(SeccompCache::forRuntimeRoot("/run/hull-runtime/"), "/run/hull-runtime.seccomp-cache");
  EXPECT_EQ(SeccompCache::forRuntimeRoot("/s/./runtime"), "/s/runtime.seccomp-cache");
}

TEST_F(SeccompCacheTest, MissStoresThenHits) {
  EXPECT_FALSE(buildHits(profile()));
  struct stat st {};
  ASSERT_EQ(::stat(cache_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(entry(profile()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_TRUE(buildHits(profile()));
  EXPECT_TRUE(buildHits(profile()));
  EXPECT_EQ(entryCount(), 1u);
}

TEST_F(SeccompCacheTest, ChangedProfileGetsItsOwnEntry) {
  EXPECT_FALSE(buildHits(profile()));
  oci::Seccomp changed = profile();
  changed.syscalls[0].errno_ret = 1u;
  EXPECT_NE(seccompCacheKey(changed), seccompCacheKey(profile()));
  EXPECT_FALSE(buildHits(changed));
  EXPECT_EQ(entryCount(), 2u);
  EXPECT_TRUE(buildHits(changed));
  EXPECT_TRUE(buildHits(profile()));
}

TEST_F(SeccompCacheTest, KeyCoversEveryField) {
  std::set<std::string> keys{seccompCacheKey(profile())};
  auto add = [&](auto edit) {
    oci::Seccomp s = profile();
    edit(s);
    EXPECT_TRUE(keys.insert(seccompCacheKey(s)).second);
  };
  add([](oci::Seccomp& s) { s.default_action = "SCMP_ACT_ERRNO"; });
  add([](oci::Seccomp& s) { s.default_errno_ret = 1u; });
  add([](oci::Seccomp& s) { s.architectures.push_back("SCMP_ARCH_X86"); });
  add([](oci::Seccomp& s) { s.flags = {"SECCOMP_FILTER_FLAG_LOG"}; });
  add([](oci::Seccomp& s) { s.syscalls[0].names = {"mkdirmkdirat"}; });  // not a concatenation
  add([](oci::Seccomp& s) { s.syscalls[0].action = "SCMP_ACT_LOG"; });
  add([](oci::Seccomp& s) { s.syscalls[1].args[0].value = 2; });
  add([](oci::Seccomp& s) { s.syscalls[1].args[0].value_two = 2; });
  add([](oci::Seccomp& s) { s.syscalls[1].args[0].index = 1; });
  add([](oci::Seccomp& s) { s.syscalls[1].args[0].op = "SCMP_CMP_NE"; });
  add([](oci::Seccomp& s) { s.syscalls.pop_back(); });
  EXPECT_EQ(seccompCacheKey(profile()), seccompCacheKey(profile()));
}

TEST_F(SeccompCacheTest, DamagedEntriesAreRebuilt) {
  EXPECT_FALSE(buildHits(profile()));
  fs::path p = entry(profile());
  std::string good = *readFile(p);
  auto rewrite = [&](const std::string& data) {
    ASSERT_TRUE(writeFileAtomic(p, data, 0600));
    ASSERT_EQ(::chmod(p.c_str(), 0600), 0);
  };
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x40;  // an instruction: the checksum no longer matches
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  std::string bad_count = good;
  bad_count[8] ^= 1;
  for (const std::string& data :
       {good.substr(0, good.size() - 8), good.substr(0, 20), std::string(), good + "12345678",
        flipped, bad_magic, bad_count}) {
    rewrite(data);
    EXPECT_FALSE(SeccompCache(cache_dir_).lookup(seccompCacheKey(profile())));
    EXPECT_FALSE(buildHits(profile()));  // rebuilt and stored again
    EXPECT_EQ(*readFile(p), good);
    EXPECT_TRUE(buildHits(profile()));
  }
}

TEST_F(SeccompCacheTest, UntrustedEntriesAreIgnored) {
  EXPECT_FALSE(buildHits(profile()));
  fs::path p = entry(profile());
  ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
  EXPECT_FALSE(buildHits(profile()));  // ignored, then replaced by one of mode 0600
  EXPECT_TRUE(buildHits(profile()));

  // A symlink to a valid entry is not followed.
  ASSERT_EQ(::rename(p.c_str(), (base_ / "elsewhere.bpf").c_str()), 0);
  ASSERT_EQ(::symlink((base_ / "elsewhere.bpf").c_str(), p.c_str()), 0);
  EXPECT_FALSE(SeccompCache(cache_dir_).lookup(seccompCacheKey(profile())));
}

TEST_F(SeccompCacheTest, EntryOfAnotherOwnerIsIgnored) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  EXPECT_FALSE(buildHits(profile()));
  fs::path p = entry(profile());
  ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(SeccompCache(cache_dir_).lookup(seccompCacheKey(profile())));
  EXPECT_FALSE(buildHits(profile()));  // replaced by one of ours
  EXPECT_TRUE(buildHits(profile()));

  ASSERT_EQ(::chown(cache_dir_.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(buildHits(profile()));  // neither read nor written
  EXPECT_FALSE(buildHits(profile()));
}

TEST_F(SeccompCacheTest, DirectoryWritableByOthersIsNotUsed) {
  EXPECT_FALSE(buildHits(profile()));
  ASSERT_EQ(::chmod(cache_dir_.c_str(), 0770), 0);
  EXPECT_FALSE(buildHits(profile()));
  auto stored =
      SeccompCache(cache_dir_)
          .store(seccompCacheKey(profile()), *SeccompFilter::build(profile(), true)->program());
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, Errc::kPermission);
  ASSERT_EQ(::chmod(cache_dir_.c_str(), 0700), 0);
  EXPECT_TRUE(buildHits(profile()));
}

TEST_F(SeccompCacheTest, UnusableCacheDoesNotFailTheBuild) {
  // The cache's parent is a file: nothing can be stored, and the filter is still built.
  ASSERT_TRUE(writeFileAtomic(base_ / "file", "x", 0600));
  SeccompCache cache(base_ / "file" / "cache");
  auto f = SeccompFilter::build(profile(), true, cache);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE(f->fromCache());
  EXPECT_GT(*f->programSize(), 10u);
}

TEST_F(SeccompCacheTest, BadProfilesFailWithOrWithoutCache) {
  oci::Seccomp s = profile();
  s.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  auto f = SeccompFilter::build(s, true, SeccompCache(cache_dir_));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "seccomp: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"");
  s = profile();
  s.syscalls[0].action = "SCMP_ACT_NOPE";
  f = SeccompFilter::build(s, true, SeccompCache(cache_dir_));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "seccomp: unknown action \"SCMP_ACT_NOPE\"");
  EXPECT_FALSE(fs::exists(entry(s)));
}

TEST_F(SeccompCacheTest, FullCacheStartsOver) {
  SeccompCache cache(cache_dir_);
  BpfProgram program = *SeccompFilter::build(profile(), true)->program();
  for (std::size_t i = 0; i < SeccompCache::kMaxEntries; ++i) {
    ASSERT_TRUE(cache.store(Digest::ofBytes(std::to_string(i)).hex(), program));
  }
  ASSERT_EQ(entryCount(), SeccompCache::kMaxEntries);
  EXPECT_FALSE(buildHits(profile()));
  EXPECT_LE(entryCount(), 1u);
  EXPECT_TRUE(buildHits(profile()));
}

// A filter read back from the cache is loaded with seccomp(2) directly and filters like the
// libseccomp-loaded one.
TEST_F(SeccompCacheTest, CachedFilterFilters) {
  EXPECT_FALSE(buildHits(profile()));
  auto f = SeccompFilter::build(profile(), true, SeccompCache(cache_dir_));
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->fromCache());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!f->load()) _exit(10);
    if (mkdir("/tmp/hull-seccomp-cache-never", 0700) == 0 || errno != EACCES) _exit(11);
    errno = 0;
    getpriority(PRIO_PROCESS, 0);
    if (errno != 0) _exit(12);
    errno = 0;
    getpriority(PRIO_PGRP, 0);
    if (errno != EPERM) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace hull::runtime
