#include "runtime/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/scope_exit.h"

namespace hull::runtime {
namespace {

std::string testdata(const std::string& name) {
  auto text = readFile(std::filesystem::path(HULL_TESTDATA) / "runtime" / name);
  EXPECT_TRUE(text) << name;
  return text ? *text : "";
}

TEST(CgroupLayout, PureV2) {
  auto system = CgroupSystem::fromMountinfo(testdata("mountinfo-v2"));
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->layout, CgroupLayout::kUnified);
  EXPECT_EQ(system->unified, "/sys/fs/cgroup");
  EXPECT_TRUE(system->controllers.empty());
  EXPECT_EQ(system->hierarchies(), std::vector<std::filesystem::path>{"/sys/fs/cgroup"});
}

TEST(CgroupLayout, HybridWithCoMountedControllers) {
  auto system = CgroupSystem::fromMountinfo(testdata("mountinfo-hybrid"));
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->layout, CgroupLayout::kHybrid);
  EXPECT_EQ(system->unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(system->controllers.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(system->controllers.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(system->controllers.at("net_cls"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(system->controllers.at("net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(system->controllers.at("memory"), "/sys/fs/cgroup/memory");
  // A named hierarchy limits nothing: it is not a controller.
  EXPECT_EQ(system->controllers.count("name=systemd"), 0u);
  EXPECT_EQ(system->controllers.count("systemd"), 0u);
  EXPECT_EQ(system->controllers.count("xattr"), 0u);
  auto trees = system->hierarchies();
  // Eleven v1 trees (co-mounted ones once) and the v2 tree last.
  EXPECT_EQ(trees.size(), 12u);
  EXPECT_EQ(trees.back(), "/sys/fs/cgroup/unified");
  EXPECT_EQ(std::count(trees.begin(), trees.end(), "/sys/fs/cgroup/cpu,cpuacct"), 1);
}

TEST(CgroupLayout, HybridWithSeparateControllers) {
  auto system = CgroupSystem::fromMountinfo(testdata("mountinfo-hybrid-separate"));
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->layout, CgroupLayout::kHybrid);
  EXPECT_EQ(system->unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(system->controllers.at("cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_EQ(system->controllers.at("cpuacct"), "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(system->controllers.count("hugetlb"), 0u);  // still bound to v2 there
}

TEST(CgroupLayout, PureV1) {
  auto system = CgroupSystem::fromMountinfo(testdata("mountinfo-v1"));
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->layout, CgroupLayout::kLegacy);
  EXPECT_TRUE(system->unified.empty());
  EXPECT_EQ(system->controllers.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(system->controllers.at("net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(system->controllers.at("hugetlb"), "/sys/fs/cgroup/hugetlb");
  EXPECT_EQ(system->controllers.count("release_agent"), 0u);
  EXPECT_EQ(system->hierarchies().size(), 10u);
}

// systemd's "unified with a v1 name=systemd tree": every controller is on v2.
TEST(CgroupLayout, V2WithOnlyANamedV1HierarchyIsUnified) {
  auto system = CgroupSystem::fromMountinfo(
      "30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
      "31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n");
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->layout, CgroupLayout::kUnified);
  EXPECT_TRUE(system->controllers.empty());
}

TEST(CgroupLayout, EscapedMountPointsAndBadInput) {
  auto system = CgroupSystem::fromMountinfo(
      "30 22 0:26 / /sys/fs/my\\040cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->unified, "/sys/fs/my cgroup");

  auto none = CgroupSystem::fromMountinfo("28 1 253:0 / / rw,relatime shared:1 - ext4 /dev/x rw\n");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::kUnsupported);

  auto torn = CgroupSystem::fromMountinfo("30 22 0:26 / /sys/fs/cgroup rw - cgroup2\n");
  ASSERT_FALSE(torn);
  EXPECT_EQ(torn.error().code, Errc::kCorrupt);
}

TEST(CgroupCreate, MissingControllerIsUnsupportedAndTouchesNothing) {
  CgroupSystem system;
  system.layout = CgroupLayout::kLegacy;
  system.controllers["cpu"] = "/nonexistent/cgroup/cpu";
  oci::Resources resources;
  resources.memory_limit = 64 << 20;
  auto cgroup = Cgroup::create(system, "/hull/test", resources);
  ASSERT_FALSE(cgroup);
  EXPECT_EQ(cgroup.error().code, Errc::kUnsupported);
  EXPECT_EQ(cgroup.error().message,
            "memory limit needs the memory cgroup controller, which this kernel does not offer");
}

TEST(CgroupCreate, RefusesPathsThatLeaveTheHierarchy) {
  CgroupSystem system;
  system.layout = CgroupLayout::kLegacy;
  system.controllers["cpu"] = "/nonexistent/cgroup/cpu";
  EXPECT_EQ(Cgroup::create(system, "/hull/../../etc", {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Cgroup::create(system, "/", {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Cgroup::create(system, "system.slice:hull:x", {}).error().code, Errc::kUnsupported);
}

TEST(ParseByteSize, DockerUnits) {
  EXPECT_EQ(*parseByteSize("1024"), 1024);
  EXPECT_EQ(*parseByteSize("1b"), 1);
  EXPECT_EQ(*parseByteSize("100k"), 100 * 1024);
  EXPECT_EQ(*parseByteSize("512m"), 512ll << 20);
  EXPECT_EQ(*parseByteSize("512M"), 512ll << 20);
  EXPECT_EQ(*parseByteSize("1g"), 1ll << 30);
  EXPECT_EQ(*parseByteSize("1G"), 1ll << 30);
  EXPECT_EQ(*parseByteSize("1.5g"), 3ll << 29);
  EXPECT_EQ(*parseByteSize("2t"), 2ll << 40);
  EXPECT_EQ(*parseByteSize("64MB"), 64ll << 20);
  EXPECT_EQ(*parseByteSize("64mib"), 64ll << 20);
  EXPECT_EQ(*parseByteSize("0"), 0);
}

TEST(ParseByteSize, RejectsJunkNegativesAndOverflow) {
  for (const char* bad :
       {"", "-1", "-1m", "m", "1x", "1.g", ".5g", "1gg", "1 2", "1m ", " 1m", "0x10",
        "9223372036854775808", "9999999999999999999999", "8388608t", "1e9", "1,5g"}) {
    auto r = parseByteSize(bad);
    EXPECT_FALSE(r) << "accepted \"" << bad << "\" as " << (r ? *r : 0);
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
  EXPECT_EQ(*parseByteSize("8388607t"), 8388607ll << 40);
}

TEST(ParseCpus, QuotaAndPeriod) {
  EXPECT_EQ(*parseCpus("1.5", 4), (std::pair<int64_t, uint64_t>{150000, 100000}));
  EXPECT_EQ(*parseCpus("0.5", 4), (std::pair<int64_t, uint64_t>{50000, 100000}));
  EXPECT_EQ(*parseCpus(".25", 4), (std::pair<int64_t, uint64_t>{25000, 100000}));
  EXPECT_EQ(*parseCpus("4", 4), (std::pair<int64_t, uint64_t>{400000, 100000}));
  EXPECT_EQ(*parseCpus("0.01", 4), (std::pair<int64_t, uint64_t>{1000, 100000}));
}

TEST(ParseCpus, RejectsZeroNegativesJunkAndMoreThanTheHostHas) {
  for (const char* bad : {"0", "0.0", "0.001", "-1", "", ".", "1.", "abc", "1.5x", "1e2", "+1"}) {
    auto r = parseCpus(bad, 4);
    EXPECT_FALSE(r) << "accepted \"" << bad << "\"";
  }
  auto many = parseCpus("4.5", 4);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code, Errc::kInvalidArgument);
  EXPECT_NE(many.error().message.find("only 4 CPUs available"), std::string::npos)
      << many.error().message;
  EXPECT_FALSE(parseCpus("100000000000000000000", 4));
  EXPECT_GE(hostCpuCount(), 1);
}

// A child that waits to be killed.
pid_t spawnSleeper() {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

std::string readTrimmed(const std::filesystem::path& path) {
  auto text = readFile(path);
  if (!text) return "<" + text.error().message + ">";
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

TEST(CgroupLive, LimitsProcessesKillAndDestroy) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  auto system = CgroupSystem::detect();
  ASSERT_TRUE(system) << system.error().message;
  oci::Resources resources;
  resources.memory_limit = *parseByteSize("64m");
  resources.pids_limit = 20;
  auto cpus = parseCpus("0.5", 1);
  ASSERT_TRUE(cpus);
  resources.cpu_quota = cpus->first;
  resources.cpu_period = cpus->second;
  resources.memory_reservation = 32 << 20;
  resources.memory_swap = 128 << 20;
  resources.cpu_shares = 512;
  resources.devices = {
      oci::DeviceCgroupRule{.allow = false, .type = "", .major = {}, .minor = {}, .access = "rwm"},
      oci::DeviceCgroupRule{.allow = true, .type = "c", .major = 1, .minor = 3, .access = "rwm"},
      oci::DeviceCgroupRule{.allow = true, .type = "c", .major = 136, .minor = {}, .access = "rw"}};
  std::string path = "/hull-test-" + std::to_string(getpid());

  auto cgroup = Cgroup::create(*system, path, resources);
  if (!cgroup && cgroup.error().code == Errc::kUnsupported) {
    GTEST_SKIP() << "this kernel lacks a controller: " << cgroup.error().message;
  }
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  pid_t child = -1;
  ScopeExit cleanup([&] {
    (void)cgroup->killAll();
    if (child > 0) {
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    }
    (void)cgroup->destroy();
  });

  auto in = [&](const std::filesystem::path& mount) { return mount / path.substr(1); };
  if (system->layout == CgroupLayout::kUnified) {
    EXPECT_EQ(readTrimmed(in(system->unified) / "memory.max"), "67108864");
    EXPECT_EQ(readTrimmed(in(system->unified) / "pids.max"), "20");
    EXPECT_EQ(readTrimmed(in(system->unified) / "cpu.max"), "50000 100000");
    EXPECT_EQ(readTrimmed(in(system->unified) / "memory.low"), "33554432");
    EXPECT_EQ(readTrimmed(in(system->unified) / "cpu.weight"), "20");  // runc's conversion
    if (std::filesystem::exists(in(system->unified) / "memory.swap.max")) {
      EXPECT_EQ(readTrimmed(in(system->unified) / "memory.swap.max"), "67108864");
    }
  } else {
    EXPECT_EQ(readTrimmed(in(system->controllers.at("memory")) / "memory.limit_in_bytes"),
              "67108864");
    EXPECT_EQ(readTrimmed(in(system->controllers.at("pids")) / "pids.max"), "20");
    EXPECT_EQ(readTrimmed(in(system->controllers.at("cpu")) / "cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(readTrimmed(in(system->controllers.at("cpu")) / "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(readTrimmed(in(system->controllers.at("cpu")) / "cpu.shares"), "512");
    auto memory = in(system->controllers.at("memory"));
    EXPECT_EQ(readTrimmed(memory / "memory.soft_limit_in_bytes"), "33554432");
    if (std::filesystem::exists(memory / "memory.memsw.limit_in_bytes")) {
      EXPECT_EQ(readTrimmed(memory / "memory.memsw.limit_in_bytes"), "134217728");
    }
    if (system->controllers.count("devices")) {
      EXPECT_EQ(readTrimmed(in(system->controllers.at("devices")) / "devices.list"),
                "c 1:3 rwm\nc 136:* rw");
    }
    if (system->layout == CgroupLayout::kHybrid) {
      EXPECT_TRUE(std::filesystem::is_directory(in(system->unified)));
    }
  }

  child = spawnSleeper();
  ASSERT_GT(child, 0);
  ASSERT_TRUE(cgroup->addProcess(child));
  auto pids = cgroup->pids();
  ASSERT_TRUE(pids) << pids.error().message;
  EXPECT_NE(std::find(pids->begin(), pids->end(), child), pids->end());
  auto stats = cgroup->stats();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->pids_current.has_value());
  EXPECT_GE(stats->pids_current.value_or(0), 1);

  auto killed = cgroup->killAll();
  EXPECT_TRUE(killed) << killed.error().message;
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  child = -1;

  auto destroyed = cgroup->destroy();
  EXPECT_TRUE(destroyed) << destroyed.error().message;
  for (const auto& mount : system->hierarchies()) {
    EXPECT_FALSE(std::filesystem::exists(in(mount))) << in(mount);
  }
  EXPECT_TRUE(cgroup->destroy());  // a second time: already gone is fine
}

// Orphaned descendants born inside the cgroup are found and killed, through cgroup.kill or
// through freeze + SIGKILL + thaw.
void killsForkedDescendants(const CgroupSystem& system_in, const std::string& tag) {
  const CgroupSystem* system = &system_in;
  std::string path = "/hull-test-" + tag + "-" + std::to_string(getpid());
  auto cgroup = Cgroup::create(*system, path, {});
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  ScopeExit cleanup([&] {
    (void)cgroup->killAll();
    (void)cgroup->destroy();
  });

  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t parent = fork();
  if (parent == 0) {
    // Join, then fork two grandchildren that outlive the parent's own wait.
    if (!cgroup->addProcess(getpid())) _exit(1);
    for (int i = 0; i < 2; ++i) {
      if (fork() == 0) {
        setsid();
        for (;;) pause();
      }
    }
    (void)!write(ready[1], "x", 1);
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  int status = 0;
  ASSERT_EQ(waitpid(parent, &status, 0), parent);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto pids = cgroup->pids();
  ASSERT_TRUE(pids) << pids.error().message;
  EXPECT_EQ(pids->size(), 2u);  // the orphaned grandchildren
  auto killed = cgroup->killAll();
  EXPECT_TRUE(killed) << killed.error().message;
  pids = cgroup->pids();
  ASSERT_TRUE(pids);
  EXPECT_TRUE(pids->empty());
  EXPECT_TRUE(cgroup->destroy());
  for (const auto& mount : system->hierarchies()) {
    EXPECT_FALSE(std::filesystem::exists(mount / path.substr(1))) << mount;
  }
}

TEST(CgroupLive, ProcessesForkedInsideAreKilledToo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  auto system = CgroupSystem::detect();
  ASSERT_TRUE(system) << system.error().message;
  killsForkedDescendants(*system, "fork");
}

// The v1 trees of a hybrid machine alone are a pure-v1 machine: no cgroup.kill, so the freezer
// path runs.
TEST(CgroupLive, V1FreezerPathOnAHybridMachine) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  auto system = CgroupSystem::detect();
  ASSERT_TRUE(system) << system.error().message;
  if (system->layout != CgroupLayout::kHybrid) GTEST_SKIP() << "needs a hybrid layout";
  if (!system->controllers.count("freezer")) GTEST_SKIP() << "needs the v1 freezer";
  system->layout = CgroupLayout::kLegacy;
  system->unified.clear();
  killsForkedDescendants(*system, "v1");
}

// The v2 tree of a hybrid machine alone behaves as a pure-v2 machine whose root offers few or
// no controllers: limits are refused by name, and a cgroup without limits works end to end
// (cgroup.procs, cgroup.kill, rmdir). No controller is enabled anywhere by this test.
TEST(CgroupLive, V2PathOnTheUnifiedTreeOfAHybridMachine) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  auto system = CgroupSystem::detect();
  ASSERT_TRUE(system) << system.error().message;
  if (system->layout != CgroupLayout::kHybrid) GTEST_SKIP() << "needs a hybrid layout";
  auto controllers = readFile(system->unified / "cgroup.controllers");
  ASSERT_TRUE(controllers);
  if (controllers->find("memory") != std::string::npos) {
    GTEST_SKIP() << "memory is on cgroup v2 here; the refusal cannot be shown";
  }
  system->layout = CgroupLayout::kUnified;
  system->controllers.clear();
  std::string path = "/hull-test-v2-" + std::to_string(getpid());

  oci::Resources limits;
  limits.memory_limit = 64 << 20;
  auto refused = Cgroup::create(*system, path, limits);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kUnsupported);
  EXPECT_EQ(refused.error().message,
            "memory limit needs the memory cgroup controller, which this kernel does not offer");
  EXPECT_FALSE(std::filesystem::exists(system->unified / path.substr(1)));

  killsForkedDescendants(*system, "v2");
}

// A child made with cloneProcess() into the v2 directory, which then joins the v1 trees itself,
// is in the container's cgroup in every hierarchy, as /proc/PID/cgroup shows; the parent stays
// where it was.
void entersEveryHierarchy(const CgroupSystem& system, const std::string& tag) {
  std::string path = "/hull-test-entry-" + tag + "-" + std::to_string(getpid());
  auto cgroup = Cgroup::create(system, path, {});
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  ScopeExit cleanup([&] {
    (void)cgroup->killAll();
    (void)cgroup->destroy();
  });
  auto entry = cgroup->openEntry();
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->v2_dir.valid(), !system.unified.empty());
  EXPECT_EQ(entry->v1_tasks.size(), system.hierarchies().size() - (system.unified.empty() ? 0 : 1));
  auto before = readFile("/proc/self/cgroup");
  ASSERT_TRUE(before);

  bool into = entry->v2_dir.valid() && cloneIntoCgroupWorks();
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  long pid = cloneProcess(0, into ? entry->v2_dir.get() : -1);
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    if (!entry->joinV1()) _exit(1);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  ScopeExit reap([&] {
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  });
  ::close(ready[1]);
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  if (!into) {
    ASSERT_TRUE(cgroup->addProcessToV2(static_cast<pid_t>(pid)));
  }

  auto theirs = readFile("/proc/" + std::to_string(pid) + "/cgroup");
  ASSERT_TRUE(theirs);
  int lines = 0;
  for (size_t start = 0; start < theirs->size();) {
    size_t end = theirs->find('\n', start);
    std::string line = theirs->substr(start, end - start);
    start = end == std::string::npos ? theirs->size() : end + 1;
    // "ID:controllers:path": the trees this CgroupSystem uses, not the others the kernel has.
    size_t first = line.find(':');
    size_t second = line.find(':', first + 1);
    ASSERT_NE(second, std::string::npos) << line;
    std::string controllers = line.substr(first + 1, second - first - 1);
    bool ours = controllers.empty() ? !system.unified.empty() : false;
    for (size_t at = 0; !controllers.empty() && at != std::string::npos;) {
      size_t comma = controllers.find(',', at);
      ours = ours || system.controllers.count(controllers.substr(at, comma - at)) > 0;
      at = comma == std::string::npos ? comma : comma + 1;
    }
    if (!ours) continue;
    // The path as the cgroup mounts show it; /proc shows it from the hierarchy's root, which is
    // longer where hull itself runs in a container's cgroup (a podman container's, say).
    EXPECT_TRUE(line.ends_with(path)) << line;
    ++lines;
  }
  EXPECT_EQ(static_cast<size_t>(lines), system.hierarchies().size()) << *theirs;
  EXPECT_EQ(*readFile("/proc/self/cgroup"), *before);
  auto pids = cgroup->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{static_cast<pid_t>(pid)});
}

TEST(CgroupLive, ANewProcessEntersEveryHierarchyWithoutAMove) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  auto system = CgroupSystem::detect();
  ASSERT_TRUE(system) << system.error().message;
  entersEveryHierarchy(*system, "all");
}

TEST(CgroupLive, ANewProcessEntersTheV1TreesAloneOnAHybridMachine) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  auto system = CgroupSystem::detect();
  ASSERT_TRUE(system) << system.error().message;
  if (system->layout != CgroupLayout::kHybrid) GTEST_SKIP() << "needs a hybrid layout";
  system->layout = CgroupLayout::kLegacy;
  system->unified.clear();
  entersEveryHierarchy(*system, "v1");
}

TEST(CgroupEntry, ABrokenTasksFileIsAnError) {
  CgroupEntry entry;
  entry.v1_tasks.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto joined = entry.joinV1();
  ASSERT_FALSE(joined);
  EXPECT_NE(joined.error().message.find("join the container's cgroup"), std::string::npos);
}

TEST(CgroupOpen, PathsThatLeaveTheHierarchyAreRefusedByEveryOperation) {
  CgroupSystem system;
  system.layout = CgroupLayout::kUnified;
  system.unified = "/nonexistent/cgroup";
  Cgroup cgroup = Cgroup::open(system, "/hull/../../etc");
  EXPECT_EQ(cgroup.destroy().error().code, Errc::kInvalidArgument);
  EXPECT_EQ(cgroup.killAll().error().code, Errc::kInvalidArgument);
  EXPECT_EQ(cgroup.addProcess(1).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(cgroup.addProcessToV2(1).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(cgroup.openEntry().error().code, Errc::kInvalidArgument);
  EXPECT_EQ(cgroup.pids().error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Cgroup::open(system, "").stats().error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Cgroup::open(system, "//hull///x/").path(), "/hull/x");
}

}  // namespace
}  // namespace hull::runtime
