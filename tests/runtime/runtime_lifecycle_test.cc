// The runtime as hull's engine uses it: in process, with init as this process's child. Needs
// root (namespaces, mounts, cgroups) and busybox; skipped elsewhere.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/runtime.h"

namespace hull::runtime {
namespace {

namespace fs = std::filesystem;

int countFds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class RuntimeLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
    base_ = fs::temp_directory_path() / ("hull-runtime-test-" + std::to_string(getpid()));
    fs::create_directories(base_ / "bundle/rootfs/bin");
    fs::copy_file("/bin/busybox", base_ / "bundle/rootfs/bin/busybox");
    for (const char* d : {"proc", "dev", "sys", "tmp", "etc"}) {
      fs::create_directories(base_ / "bundle/rootfs" / d);
    }
    auto rt = Runtime::open(base_ / "state");
    ASSERT_TRUE(rt) << rt.error().message;
    rt_.emplace(std::move(*rt));
  }
  void TearDown() override {
    if (rt_) {
      for (const char* id : {"lib1", "lib2", "lib3"}) (void)rt_->remove(id, true);
    }
    if (!base_.empty()) fs::remove_all(base_);
  }

  oci::RuntimeSpec spec(std::vector<std::string> args) {
    oci::RuntimeSpec s = defaultSpec();
    s.process->terminal = false;
    s.process->args = std::move(args);
    s.root.readonly = false;
    return s;
  }

  int waitExit(pid_t pid) {
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  fs::path base_;
  std::optional<Runtime> rt_;
};

TEST_F(RuntimeLifecycle, CreateStartWaitRemoveLeavesNoFd) {
  int before = countFds();
  auto created = rt_->create("lib1", base_ / "bundle", spec({"/bin/busybox", "sh", "-c", "exit 3"}),
                             CreateOptions{});
  ASSERT_TRUE(created) << created.error().message;
  auto st = rt_->state("lib1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, Status::kCreated);
  EXPECT_EQ(st->pid, created->pid);
  ASSERT_TRUE(rt_->start("lib1"));
  EXPECT_EQ(waitExit(created->pid), 3);
  EXPECT_EQ(rt_->state("lib1")->status, Status::kStopped);
  ASSERT_TRUE(rt_->remove("lib1", false));
  EXPECT_FALSE(rt_->state("lib1"));
  EXPECT_EQ(countFds(), before);
}

TEST_F(RuntimeLifecycle, ExecFailureIsReportedAtCreate) {
  auto created = rt_->create("lib2", base_ / "bundle", spec({"nosuch"}), CreateOptions{});
  ASSERT_FALSE(created);
  EXPECT_EQ(execFailureStatus(created.error()), 127);
  EXPECT_FALSE(rt_->state("lib2"));
}

TEST_F(RuntimeLifecycle, ExecJoinsTheContainer) {
  auto created = rt_->create("lib3", base_ / "bundle", spec({"/bin/busybox", "sleep", "100"}),
                             CreateOptions{});
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_TRUE(rt_->start("lib3"));
  oci::Process p = *spec({}).process;
  // pid 1 of the container is the sleep: the exec'd process shares its pid namespace. start()
  // returns once init is told to go, maybe before it has exec'd the sleep: look for a while.
  p.args = {"/bin/busybox", "sh", "-c",
            "for i in $(seq 200); do grep -q sleep /proc/1/cmdline && exit 0; sleep 0.05; done; "
            "exit 1"};
  auto exec = rt_->exec("lib3", p, ExecOptions{});
  ASSERT_TRUE(exec) << exec.error().message;
  EXPECT_EQ(waitExit(exec->pid), 0);
  auto pids = rt_->pids("lib3");
  ASSERT_TRUE(pids);
  EXPECT_EQ(pids->size(), 1u);
  ASSERT_TRUE(rt_->remove("lib3", true));
  EXPECT_EQ(waitExit(created->pid), 128 + SIGKILL);
}

}  // namespace
}  // namespace hull::runtime
