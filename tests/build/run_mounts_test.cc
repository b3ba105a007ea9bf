// RUN --mount resolution: cache directories and their sharing, secrets, binds that try to leave
// their root, tmpfs, and the mounts' part of a step's cache key.
#include "build/run_mounts.h"

#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "temp_dir_util.h"

namespace hull::build {
namespace {

using testing::readText;
using testing::ScratchDir;
using testing::writeText;

dockerfile::Mount parse(std::string_view spec) {
  auto m = dockerfile::parseMount(spec);
  if (!m) ADD_FAILURE() << spec << ": " << m.error().message;
  return m ? *m : dockerfile::Mount{};
}

// A stage's or image's root: a plain directory here; notes when it is released.
class FakeMounted : public Mounted {
 public:
  FakeMounted(fs::path root, std::atomic<int>* alive) : root_(std::move(root)), alive_(alive) {
    ++*alive_;
  }
  ~FakeMounted() override { --*alive_; }
  const fs::path& root() const override { return root_; }

 private:
  fs::path root_;
  std::atomic<int>* alive_;
};

class RunMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::open(dir_.path() / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    cache_.emplace(*store_);
    context_ = dir_.path() / "ctx";
    fs::create_directories(context_ / "src" / "pkg");
    writeText(context_ / "src" / "pkg" / "mod.py", "print(1)\n");
    writeText(context_ / "requirements.txt", "numpy\n");
    stage_root_ = dir_.path() / "stage";
    fs::create_directories(stage_root_ / "etc");
    writeText(stage_root_ / "etc" / "os-release", "stage\n");
    options_.context = context_;
    options_.secrets["token"] = "s3cr3t";
    env_.store = &*store_;
    env_.cache = &*cache_;
    env_.options = &options_;
    env_.mount_from = [this](const dockerfile::Mount& m) -> Result<std::unique_ptr<Mounted>> {
      if (m.from != "builder") return fail(Errc::kNotFound, "no stage " + m.from);
      return std::unique_ptr<Mounted>(std::make_unique<FakeMounted>(stage_root_, &alive_));
    };
  }

  Result<RunMounts> resolve(std::initializer_list<std::string_view> specs) {
    std::vector<dockerfile::Mount> mounts;
    for (auto s : specs) mounts.push_back(parse(s));
    return RunMounts::resolve(mounts, env_);
  }

  ScratchDir dir_{"hull-mounts-test"};
  std::optional<store::Store> store_;
  std::optional<Cache> cache_;
  fs::path context_, stage_root_;
  BuildOptions options_;
  MountEnv env_;
  std::atomic<int> alive_{0};
};

TEST_F(RunMountsTest, CacheDefaults) {
  auto r = resolve({"type=cache,target=/root/.cache/pip"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->mounts().size(), 1u);
  const RunMount& m = r->mounts()[0];
  EXPECT_EQ(m.kind, RunMount::Kind::kBind);
  EXPECT_EQ(m.target, "/root/.cache/pip");
  EXPECT_FALSE(m.readonly);
  // The id defaults to the target.
  EXPECT_EQ(m.source, cache_->mountDir("/root/.cache/pip"));
  struct stat st {};
  ASSERT_EQ(::stat(m.source.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
}

TEST_F(RunMountsTest, CacheOwnerModeAndPersistence) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  fs::path dir;
  {
    auto r = resolve({"type=cache,target=/home/u/.cache,id=pip,uid=1000,gid=1001,mode=0700"});
    ASSERT_TRUE(r) << r.error().message;
    dir = r->mounts()[0].source;
    EXPECT_EQ(dir, cache_->mountDir("pip"));
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
    writeText(dir / "wheel", "kept");
  }
  // Another step with the same id (another target) finds the files of the first.
  auto r = resolve({"type=cache,target=/other,id=pip"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mounts()[0].source, dir);
  EXPECT_EQ(readText(dir / "wheel"), "kept");
}

TEST_F(RunMountsTest, CacheReadonlyAndBadTarget) {
  auto r = resolve({"type=cache,target=/c,ro"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->mounts()[0].readonly);
  dockerfile::Mount m = parse("type=cache,target=/c");
  m.target = "relative";
  auto bad = RunMounts::resolve({m}, env_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
}

TEST_F(RunMountsTest, LockedSharingBlocksASecondStep) {
  auto first = resolve({"type=cache,target=/var/cache/apt,sharing=locked"});
  ASSERT_TRUE(first) << first.error().message;
  std::optional<RunMounts> held(std::move(*first));

  std::atomic<bool> done{false};
  fs::path second_source;
  std::thread t([&] {
    auto second = resolve({"type=cache,target=/var/cache/apt,sharing=locked"});
    if (second) second_source = second->mounts()[0].source;
    done = true;
  });
  // The lock is held: the second step waits (checked without timing through a third flock).
  fs::path lock_path = cache_->mountDir("/var/cache/apt");
  lock_path += ".lock";
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_SH | LOCK_NB), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(done);
  held.reset();
  t.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(second_source, cache_->mountDir("/var/cache/apt"));
  // Released: nobody holds it any more.
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

TEST_F(RunMountsTest, SharedSharingDoesNotBlock) {
  auto a = resolve({"type=cache,target=/c"});
  ASSERT_TRUE(a) << a.error().message;
  auto b = resolve({"type=cache,target=/c,sharing=shared"});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->mounts()[0].source, b->mounts()[0].source);
}

TEST_F(RunMountsTest, PrivateSharingGetsItsOwnDirectoryWhileInUse) {
  fs::path shared = cache_->mountDir("/c");
  {
    // Nobody else: private uses the shared directory.
    auto alone = resolve({"type=cache,target=/c,sharing=private"});
    ASSERT_TRUE(alone) << alone.error().message;
    EXPECT_EQ(alone->mounts()[0].source, shared);
  }
  auto user = resolve({"type=cache,target=/c"});
  ASSERT_TRUE(user) << user.error().message;
  fs::path own;
  {
    auto priv = resolve({"type=cache,target=/c,sharing=private,mode=0711"});
    ASSERT_TRUE(priv) << priv.error().message;
    own = priv->mounts()[0].source;
    EXPECT_NE(own, shared);
    EXPECT_EQ(own.parent_path(), store_->tmpDir());
    struct stat st {};
    ASSERT_EQ(::stat(own.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u);
  }
  EXPECT_FALSE(fs::exists(own));
  EXPECT_TRUE(fs::exists(shared));
}

TEST_F(RunMountsTest, SecretFile) {
  fs::path file;
  {
    auto r = resolve({"type=secret,id=token"});
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->mounts().size(), 1u);
    const RunMount& m = r->mounts()[0];
    EXPECT_EQ(m.target, "/run/secrets/token");
    EXPECT_TRUE(m.readonly);
    file = m.source;
    EXPECT_EQ(file.parent_path(), store_->tmpDir());
    EXPECT_EQ(readText(file), "s3cr3t");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    EXPECT_TRUE(r->env().empty());
  }
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(RunMountsTest, SecretTargetModeAndIdFromTarget) {
  auto r = resolve({"type=secret,target=/etc/token,mode=0440"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->mounts().size(), 1u);
  EXPECT_EQ(r->mounts()[0].target, "/etc/token");
  struct stat st {};
  ASSERT_EQ(::stat(r->mounts()[0].source.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0440u);
}

TEST_F(RunMountsTest, SecretAsEnv) {
  auto r = resolve({"type=secret,id=token,env=API_TOKEN"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->mounts().empty());
  EXPECT_EQ(r->env(), std::vector<std::string>{"API_TOKEN=s3cr3t"});
  EXPECT_TRUE(fs::is_empty(store_->tmpDir()));
}

TEST_F(RunMountsTest, SecretMissing) {
  auto required = resolve({"type=secret,id=nope,required"});
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().code, Errc::kNotFound);
  EXPECT_NE(required.error().message.find("secret nope not found"), std::string::npos);
  auto optional = resolve({"type=secret,id=nope"});
  ASSERT_TRUE(optional) << optional.error().message;
  EXPECT_TRUE(optional->mounts().empty());
  EXPECT_TRUE(optional->env().empty());
}

TEST_F(RunMountsTest, FailureReleasesWhatWasTaken) {
  auto r = resolve({"type=secret,id=token", "type=cache,target=/c,sharing=locked",
                    "type=secret,id=nope,required=true"});
  ASSERT_FALSE(r);
  EXPECT_TRUE(fs::is_empty(store_->tmpDir()));
  fs::path lock_path = cache_->mountDir("/c");
  lock_path += ".lock";
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

TEST_F(RunMountsTest, SshRefused) {
  auto r = resolve({"type=ssh"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
  EXPECT_NE(r.error().message.find("RUN --mount=type=ssh is not supported"), std::string::npos);
}

TEST_F(RunMountsTest, Tmpfs) {
  auto r = resolve({"type=tmpfs,target=/scratch,size=64m"});
  ASSERT_TRUE(r) << r.error().message;
  const RunMount& m = r->mounts()[0];
  EXPECT_EQ(m.kind, RunMount::Kind::kTmpfs);
  EXPECT_EQ(m.target, "/scratch");
  EXPECT_FALSE(m.readonly);
  ASSERT_TRUE(m.size);
  EXPECT_EQ(*m.size, 64 << 20);
}

TEST_F(RunMountsTest, BindFromContext) {
  auto r = resolve({"type=bind,source=src/pkg,target=/pkg", "type=bind,target=/ctx"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->mounts().size(), 2u);
  EXPECT_EQ(r->mounts()[0].source, fs::canonical(context_ / "src" / "pkg"));
  EXPECT_TRUE(r->mounts()[0].readonly);
  EXPECT_EQ(r->mounts()[1].source, fs::canonical(context_));
}

TEST_F(RunMountsTest, BindSymlinkInsideTheContext) {
  fs::create_symlink("src/pkg", context_ / "pkglink");
  auto r = resolve({"type=bind,source=pkglink,target=/pkg"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mounts()[0].source, fs::canonical(context_ / "src" / "pkg"));
}

TEST_F(RunMountsTest, BindCannotLeaveTheContext) {
  fs::create_symlink("/etc", context_ / "hostetc");
  fs::create_symlink("../../../../../../etc", context_ / "up");
  for (auto spec : {"type=bind,source=../../etc,target=/x", "type=bind,source=hostetc,target=/x",
                    "type=bind,source=up,target=/x", "type=bind,source=hostetc/passwd,target=/x",
                    "type=bind,source=/../etc,target=/x"}) {
    auto r = resolve({spec});
    EXPECT_FALSE(r) << spec << " resolved to " << r->mounts()[0].source;
  }
}

TEST_F(RunMountsTest, BindMissingSource) {
  auto r = resolve({"type=bind,source=nope,target=/x"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
}

TEST_F(RunMountsTest, BindWithoutContext) {
  options_.context.clear();
  auto r = resolve({"type=bind,target=/x"});
  ASSERT_FALSE(r);
}

TEST_F(RunMountsTest, ReadWriteBindGetsACopy) {
  fs::path copy;
  {
    auto r = resolve({"type=bind,source=src,target=/src,rw"});
    ASSERT_TRUE(r) << r.error().message;
    const RunMount& m = r->mounts()[0];
    EXPECT_FALSE(m.readonly);
    copy = m.source;
    EXPECT_EQ(copy.parent_path(), store_->tmpDir());
    EXPECT_EQ(readText(copy / "pkg" / "mod.py"), "print(1)\n");
    writeText(copy / "pkg" / "mod.py", "changed");
  }
  EXPECT_EQ(readText(context_ / "src" / "pkg" / "mod.py"), "print(1)\n");
  EXPECT_FALSE(fs::exists(copy));
}

TEST_F(RunMountsTest, BindFromStage) {
  // Inside a stage's root an absolute symlink points into that root, never to the host.
  fs::create_symlink("/etc", stage_root_ / "hostetc");
  {
    auto r = resolve({"type=bind,from=builder,source=/etc/os-release,target=/o",
                      "type=bind,from=builder,source=hostetc,target=/e",
                      "type=bind,from=builder,source=../../..,target=/r"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(alive_, 3);
    EXPECT_EQ(r->mounts()[0].source, fs::canonical(stage_root_ / "etc" / "os-release"));
    EXPECT_EQ(r->mounts()[1].source, fs::canonical(stage_root_ / "etc"));
    EXPECT_EQ(r->mounts()[2].source, fs::canonical(stage_root_));
  }
  EXPECT_EQ(alive_, 0);
  auto unknown = resolve({"type=bind,from=nowhere,target=/x"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);
}

TEST_F(RunMountsTest, MovedMountsKeepTheirHold) {
  fs::path file;
  std::optional<RunMounts> moved;
  {
    auto r = resolve({"type=secret,id=token"});
    ASSERT_TRUE(r) << r.error().message;
    file = r->mounts()[0].source;
    moved.emplace(std::move(*r));
  }
  EXPECT_TRUE(fs::exists(file));
  moved.reset();
  EXPECT_FALSE(fs::exists(file));
}

Digest keyOf(const dockerfile::Mount& m) { return Digest::ofBytes(m.from + "|" + m.source); }

TEST(CanonicalMountsTest, SortedByTargetAndDefaultsFilledIn) {
  auto m = [](std::string_view s) { return *dockerfile::parseMount(s); };
  auto a = canonicalMounts({m("type=cache,target=/z"), m("type=tmpfs,target=/a")}, keyOf);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_NE(a[0].find("\"/a\""), std::string::npos);
  EXPECT_NE(a[1].find("\"/z\""), std::string::npos);
  EXPECT_EQ(a, canonicalMounts({m("type=tmpfs,target=/a"), m("type=cache,target=/z")}, keyOf));
  EXPECT_EQ(
      canonicalMounts({m("type=cache,target=/z")}, keyOf),
      canonicalMounts({m("type=cache,target=/z,id=/z,sharing=shared,mode=0755,uid=0")}, keyOf));
}

TEST(CanonicalMountsTest, EveryBehaviourChangesTheKey) {
  auto key = [](std::string_view s) {
    return canonicalMounts({*dockerfile::parseMount(s)}, keyOf);
  };
  std::vector<std::string_view> specs = {
      "type=cache,target=/c",
      "type=cache,target=/c,id=other",
      "type=cache,target=/c,sharing=locked",
      "type=cache,target=/c,mode=0700",
      "type=cache,target=/c,uid=1",
      "type=cache,target=/c,gid=1",
      "type=cache,target=/c,ro",
      "type=cache,target=/d",
      "type=bind,target=/c",
      "type=bind,target=/c,source=x",
      "type=bind,target=/c,from=builder",
      "type=bind,target=/c,rw",
      "type=tmpfs,target=/c",
      "type=tmpfs,target=/c,size=1m",
      "type=secret,id=a",
      "type=secret,id=b",
      "type=secret,id=a,env=A",
      "type=secret,id=a,required",
      "type=secret,id=a,mode=0444",
  };
  std::set<std::vector<std::string>> seen;
  for (auto s : specs) EXPECT_TRUE(seen.insert(key(s)).second) << s;
}

TEST(CanonicalMountsTest, ContentOfBindSourceAndNoSecretContent) {
  auto m = *dockerfile::parseMount("type=bind,source=x,target=/c");
  auto a = canonicalMounts({m}, [](const dockerfile::Mount&) { return Digest::ofBytes("v1"); });
  auto b = canonicalMounts({m}, [](const dockerfile::Mount&) { return Digest::ofBytes("v2"); });
  EXPECT_NE(a, b);
  auto s = canonicalMounts({*dockerfile::parseMount("type=secret,id=token")}, keyOf);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace hull::build
