// Locking between processes. flock belongs to an open file description, so these tests use
// real processes (fork), never threads.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace hull::store {
namespace {

using testing::putImage;
using testing::TempDir;
using testing::TestImage;

// Runs body in a child process; its return value is the exit status. The child never returns
// into the test framework.
pid_t spawn(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {  // never unwind into the test framework: it would run the tests again
    }
    ::_exit(code);
  }
  return pid;
}

int waitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fail(const char* what, const Error& e) {
  std::fprintf(stderr, "[pid %d] %s: %s\n", ::getpid(), what, e.message.c_str());
  return 1;
}

class LockTest : public ::testing::Test {
 protected:
  fs::path root() { return dir_.path() / "root"; }
  Store open() {
    auto s = Store::open(root());
    if (!s) std::abort();
    return std::move(*s);
  }
  TempDir dir_;
};

TEST_F(LockTest, ExclusiveLockKeepsOtherProcessesOut) {
  Store store = open();
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = spawn([&] {
    Store s = open();
    auto held = s.lock(LockMode::kExclusive);
    if (!held) return fail("lock", held.error());
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1 || ::read(release[0], &c, 1) != 1) return 2;
    return 0;
  });
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto busy = store.tryLock(LockMode::kShared);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, Errc::kBusy);
  EXPECT_EQ(store.tryLock(LockMode::kExclusive).error().code, Errc::kBusy);
  ASSERT_EQ(::write(release[1], "x", 1), 1);
  EXPECT_EQ(waitExit(child), 0);
  auto now = store.tryLock(LockMode::kExclusive);
  ASSERT_TRUE(now) << now.error().message;
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
}

TEST_F(LockTest, SharedLocksCoexistAcrossProcesses) {
  Store store = open();
  auto mine = store.lock(LockMode::kShared);
  ASSERT_TRUE(mine);
  pid_t child = spawn([&] {
    Store s = open();
    auto shared = s.tryLock(LockMode::kShared);
    if (!shared) return fail("shared", shared.error());
    shared->release();
    auto exclusive = s.tryLock(LockMode::kExclusive);
    return exclusive ? 3 : (exclusive.error().code == Errc::kBusy ? 0 : 4);
  });
  EXPECT_EQ(waitExit(child), 0);
}

TEST_F(LockTest, LocksNestWithinAProcess) {
  Store store = open();
  {
    auto outer = store.lock(LockMode::kExclusive);
    ASSERT_TRUE(outer);
    auto inner = store.tryLock(LockMode::kExclusive);
    ASSERT_TRUE(inner) << inner.error().message;
    auto shared = store.lock(LockMode::kShared);
    ASSERT_TRUE(shared) << shared.error().message;
    // Operations that lock for themselves run under the held lock instead of deadlocking.
    TestImage img = putImage(store, {"layer"});
    ASSERT_TRUE(store.tag("x", img.manifest));
    ASSERT_TRUE(store.prune());
    ASSERT_TRUE(store.fsck());
    outer->release();
    inner->release();
    // The shared handle is a duplicate of the exclusive lock: still exclusive.
    pid_t child = spawn([&] {
      Store s = open();
      return s.tryLock(LockMode::kShared) ? 1 : 0;
    });
    EXPECT_EQ(waitExit(child), 0);
  }
  {
    auto shared = store.lock(LockMode::kShared);
    ASSERT_TRUE(shared);
    auto upgrade = store.lock(LockMode::kExclusive);
    ASSERT_FALSE(upgrade) << "an upgrade would deadlock against our own shared lock";
    EXPECT_EQ(upgrade.error().code, Errc::kInternal);
    EXPECT_EQ(store.prune().error().code, Errc::kInternal);
  }
  EXPECT_TRUE(store.lock(LockMode::kExclusive)) << "released with the last handle";
}

TEST_F(LockTest, WriterStagingSurvivesPrune) {
  Store store = open();
  auto w = store.ingest();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("in flight"));
  pid_t child = spawn([&] {
    Store s = open();
    auto r = s.tryLock(LockMode::kExclusive);  // the writer's shared lock keeps prune out
    return !r && r.error().code == Errc::kBusy ? 0 : 1;
  });
  EXPECT_EQ(waitExit(child), 0);
  auto d = w->commit("application/octet-stream");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(store.tryLock(LockMode::kExclusive)) << "commit released the writer's lock";
}

// Eight writers ingest and tag images while another process prunes and untags; afterwards the
// store is consistent and every name leads to a whole image.
TEST_F(LockTest, ConcurrentWritersAndPruner) {
  constexpr int kWriters = 8;
  constexpr int kImages = 12;
  Store store = open();
  auto writer = [&](int w) {
    Store s = open();
    for (int i = 0; i < kImages; ++i) {
      auto held = s.lock(LockMode::kShared);  // for the whole import: ingest, then tag
      if (!held) return fail("lock", held.error());
      std::string unique = "writer " + std::to_string(w) + " image " + std::to_string(i);
      TestImage img =
          putImage(s, {"common base layer", unique, std::string(4096 * i, 'z')}, unique);
      if (img.manifest.digest.empty()) return 1;
      std::string name = "w" + std::to_string(w) + "/img:" + std::to_string(i);
      if (auto r = s.tag(name, img.manifest); !r) return fail("tag", r.error());
      if (auto r = s.tag("shared", img.manifest); !r) return fail("tag shared", r.error());
      held->release();
      ::usleep(1000);  // let the pruner in between imports
    }
    return 0;
  };
  auto pruner = [&](int done_fd) {
    Store s = open();
    std::size_t removed = 0;
    while (true) {
      char c;
      bool writers_done = ::read(done_fd, &c, 1) == 0;
      auto images = s.images();
      if (!images) return fail("images", images.error());
      for (const auto& img : *images) {
        if (img.name.ends_with("0") || img.name.ends_with("2") || img.name.ends_with("4")) {
          auto r = s.untag(img.name);
          if (!r && r.error().code != Errc::kNotFound) return fail("untag", r.error());
        }
      }
      auto pruned = s.prune();
      if (!pruned) return fail("prune", pruned.error());
      removed += pruned->removed.size();
      // The round that starts after the last writer is done always has untagged images to
      // remove, however the rounds fell.
      if (writers_done) return removed > 0 ? 0 : 5;
      ::usleep(2000);
    }
  };
  int done[2];
  ASSERT_EQ(::pipe(done), 0);
  pid_t prune_pid = spawn([&] {
    ::close(done[1]);
    ::fcntl(done[0], F_SETFL, O_NONBLOCK);
    return pruner(done[0]);
  });
  ::close(done[0]);
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) writers.push_back(spawn([&, w] { return writer(w); }));
  for (pid_t p : writers) EXPECT_EQ(waitExit(p), 0);
  ::close(done[1]);  // the pruner finishes its round and stops
  EXPECT_EQ(waitExit(prune_pid), 0);

  auto problems = store.fsck();
  ASSERT_TRUE(problems) << problems.error().message;
  for (const auto& p : *problems) ADD_FAILURE() << p.blob.str() << ": " << p.what;
  auto images = store.images();
  ASSERT_TRUE(images);
  std::set<std::string> names;
  for (const auto& img : *images) {
    names.insert(img.name);
    auto m = store.manifest(img.manifest);
    ASSERT_TRUE(m) << img.name << ": " << m.error().message;
    ASSERT_TRUE(store.config(*m)) << img.name;
    for (const auto& l : m->layers) EXPECT_TRUE(store.readBlob(l.digest)) << img.name;
  }
  EXPECT_EQ(names.size(), images->size()) << "one entry per name";
  EXPECT_TRUE(names.count("shared:latest"));
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(names.count("w" + std::to_string(w) + "/img:11")) << "never untagged";
  }
  auto final_prune = store.prune();
  ASSERT_TRUE(final_prune);
  auto after = store.fsck();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
  EXPECT_TRUE(testing::listDir(store.tmpDir()).empty());
}

}  // namespace
}  // namespace hull::store
