// A container's cgroup on v2, hybrid and v1 machines. The rules follow runc's cgroupfs manager:
// the same relative path in every hierarchy, limits written as the kernel's own files, and a
// failure part way removes what was made.
#include "runtime/cgroup.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <limits>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/scope_exit.h"

namespace hull::runtime {
namespace {

using Path = std::filesystem::path;

constexpr auto kPoll = std::chrono::milliseconds(10);
constexpr int kPollRounds = 100;  // ~1 s: how long dying tasks may keep a cgroup busy

Path dirIn(const Path& mount, const std::string& rel) { return mount / rel.substr(1); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool fileExists(const Path& path) { return ::access(path.c_str(), F_OK) == 0; }

// Cgroup files take one value per write(2); the kernel's errno is the answer.
int writeRaw(const Path& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

Result<void> writeCgroupFile(const Path& dir, std::string_view name, std::string_view value) {
  Path path = dir / name;
  if (int err = writeRaw(path, value); err != 0) {
    return failErrno("write \"" + std::string(value) + "\" to " + path.string(), err);
  }
  return {};
}

Result<std::string> readCgroupFile(const Path& dir, std::string_view name) {
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(dir / name, 1u << 20));
  return trim(std::move(text));
}

std::optional<int64_t> readInt(const Path& path) {
  auto text = readFile(path, 4096);
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc()) return std::nullopt;
  return value;
}

// "/hull/<id>" with no empty, "." or ".." parts: a cgroup path never leaves its hierarchy.
Result<std::string> normalizePath(const std::string& path) {
  if (path.find(':') != std::string::npos) {
    return fail(Errc::kUnsupported, "cgroup path \"" + path +
                                        "\": the systemd slice form needs systemd, which hull "
                                        "does not use; give a path such as /hull/NAME");
  }
  std::string out;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "." || part == "..") {
      return fail(Errc::kInvalidArgument, "cgroup path \"" + path + "\" may not contain " + part);
    }
    if (!part.empty()) out += "/" + part;
    start = end + 1;
  }
  if (out.empty()) return fail(Errc::kInvalidArgument, "cgroup path is empty");
  return out;
}

// The controllers a set of limits needs, each with the words for "X limit needs ...".
std::map<std::string, std::string> neededControllers(const oci::Resources& r) {
  std::map<std::string, std::string> need;
  if (r.memory_limit.value_or(0) != 0 || r.memory_reservation.value_or(0) != 0 ||
      r.memory_swap.value_or(0) != 0) {
    need.emplace("memory", "memory limit");
  }
  if (r.cpu_shares.value_or(0) != 0 || r.cpu_quota.value_or(0) != 0 ||
      r.cpu_period.value_or(0) != 0) {
    need.emplace("cpu", "cpu limit");
  }
  if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()) need.emplace("cpuset", "cpuset");
  if (r.pids_limit) need.emplace("pids", "pids limit");
  return need;
}

Result<std::set<std::string>> unifiedControllers(const Path& unified) {
  HULL_ASSIGN_OR_RETURN(std::string text, readCgroupFile(unified, "cgroup.controllers"));
  std::set<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.insert(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Result<void> requireControllers(const std::map<std::string, std::string>& need,
                                const std::set<std::string>& have) {
  for (const auto& [controller, what] : need) {
    if (!have.count(controller)) {
      return fail(Errc::kUnsupported, what + " needs the " + controller +
                                          " cgroup controller, which this kernel does not offer");
    }
  }
  return {};
}

// mkdir of each missing component below the mount.
Result<void> makeDirs(const Path& mount, const std::string& rel) {
  Path dir = mount;
  for (const auto& part : Path(rel.substr(1))) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return failErrno("create cgroup " + dir.string());
    }
  }
  return {};
}

// v1 cpuset: a new cgroup starts with no CPUs and no memory nodes, and a task cannot join it
// (ENOSPC) until both are set, so every level inherits its parent's unless it has its own.
Result<void> fillCpuset(const Path& mount, const std::string& rel) {
  Path dir = mount;
  for (const auto& part : Path(rel.substr(1))) {
    Path parent = dir;
    dir /= part;
    for (const char* name : {"cpuset.cpus", "cpuset.mems"}) {
      HULL_ASSIGN_OR_RETURN(std::string mine, readCgroupFile(dir, name));
      if (!mine.empty()) continue;
      HULL_ASSIGN_OR_RETURN(std::string theirs, readCgroupFile(parent, name));
      HULL_TRY(writeCgroupFile(dir, name, theirs));
    }
  }
  return {};
}

// v2: a controller is usable in a cgroup only when every ancestor lists it in
// cgroup.subtree_control. The needed ones must succeed; those only for stats may fail.
Result<void> enableV2Controllers(const Path& unified, const std::string& rel,
                                 const std::map<std::string, std::string>& need,
                                 const std::set<std::string>& have) {
  std::vector<std::string> wanted;
  for (const auto& [controller, what] : need) wanted.push_back(controller);
  for (const char* extra : {"memory", "pids", "cpu"}) {
    if (have.count(extra) && !need.count(extra)) wanted.push_back(extra);
  }
  Path dir = unified;
  for (const auto& part : Path(rel.substr(1))) {
    for (const std::string& controller : wanted) {
      auto written = writeCgroupFile(dir, "cgroup.subtree_control", "+" + controller);
      if (!written && need.count(controller)) return fail(std::move(written).error());
    }
    dir /= part;
  }
  return {};
}

std::string v2Max(int64_t value) { return value < 0 ? "max" : std::to_string(value); }

// runc's conversion from cpu.shares (2..262144) to cpu.weight (1..10000).
uint64_t sharesToWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

// The OCI memory.swap is memory+swap; v2 limits the swap alone.
Result<std::optional<std::string>> v2Swap(const oci::Resources& r) {
  int64_t swap = r.memory_swap.value_or(0);
  if (swap == 0) return std::optional<std::string>();
  if (swap < 0) return std::optional<std::string>("max");
  int64_t memory = r.memory_limit.value_or(0);
  if (memory <= 0) {
    return fail(Errc::kInvalidArgument, "a memory+swap limit needs a memory limit too");
  }
  if (swap < memory) {
    return fail(Errc::kInvalidArgument, "the memory+swap limit must be at least the memory limit");
  }
  return std::optional<std::string>(std::to_string(swap - memory));
}

Result<void> writeUnifiedMap(const Path& dir, const std::map<std::string, std::string>& files) {
  for (const auto& [name, value] : files) {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      return fail(Errc::kInvalidArgument, "cgroup file name \"" + name + "\" is not valid");
    }
    if (!fileExists(dir / name)) {
      return fail(Errc::kUnsupported, "cgroup file " + name +
                                          " does not exist here (its controller is missing "
                                          "or not enabled)");
    }
    HULL_TRY(writeCgroupFile(dir, name, value));
  }
  return {};
}

Result<void> writeV2Limits(const Path& dir, const oci::Resources& r) {
  if (r.memory_limit.value_or(0) != 0) {
    HULL_TRY(writeCgroupFile(dir, "memory.max", v2Max(*r.memory_limit)));
  }
  if (r.memory_reservation.value_or(0) != 0) {
    HULL_TRY(writeCgroupFile(dir, "memory.low", v2Max(*r.memory_reservation)));
  }
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> swap, v2Swap(r));
  // Without swap accounting the file is absent; like Docker, the limit is then only on memory.
  if (swap && fileExists(dir / "memory.swap.max")) {
    HULL_TRY(writeCgroupFile(dir, "memory.swap.max", *swap));
  }
  if (r.cpu_quota.value_or(0) != 0 || r.cpu_period.value_or(0) != 0) {
    int64_t quota = r.cpu_quota.value_or(-1);
    uint64_t period = r.cpu_period.value_or(0) != 0 ? *r.cpu_period : 100000;
    HULL_TRY(writeCgroupFile(dir, "cpu.max", v2Max(quota) + " " + std::to_string(period)));
  }
  if (r.cpu_shares.value_or(0) != 0) {
    HULL_TRY(writeCgroupFile(dir, "cpu.weight", std::to_string(sharesToWeight(*r.cpu_shares))));
  }
  if (!r.cpuset_cpus.empty()) HULL_TRY(writeCgroupFile(dir, "cpuset.cpus", r.cpuset_cpus));
  if (!r.cpuset_mems.empty()) HULL_TRY(writeCgroupFile(dir, "cpuset.mems", r.cpuset_mems));
  if (r.pids_limit) {
    HULL_TRY(writeCgroupFile(dir, "pids.max", v2Max(*r.pids_limit > 0 ? *r.pids_limit : -1)));
  }
  // Device rules: v2 has no devices.allow/deny files; enforcing them needs an eBPF program
  // attached to the cgroup (BPF_CGROUP_DEVICE), as runc does. hull does not load one: the
  // container's /dev holds only the allowed device nodes (made by mknod from the spec's list),
  // and without CAP_MKNOD the container cannot make others.
  return writeUnifiedMap(dir, r.unified);
}

std::string deviceRule(const oci::DeviceCgroupRule& rule) {
  std::string type = rule.type.empty() ? "a" : rule.type;
  auto num = [](const std::optional<int64_t>& n) { return n ? std::to_string(*n) : "*"; };
  return type + " " + num(rule.major) + ":" + num(rule.minor) + " " +
         (rule.access.empty() ? "rwm" : rule.access);
}

Result<void> writeV1Memory(const Path& dir, const oci::Resources& r) {
  if (r.memory_reservation.value_or(0) != 0) {
    HULL_TRY(
        writeCgroupFile(dir, "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation)));
  }
  bool memsw = r.memory_swap.value_or(0) != 0 && fileExists(dir / "memory.memsw.limit_in_bytes");
  if (r.memory_limit.value_or(0) != 0) {
    // memory.limit_in_bytes may never exceed memsw: when lowering both, memsw goes second;
    // when the old memsw is below the new limit, memsw must go first.
    auto first = writeCgroupFile(dir, "memory.limit_in_bytes", std::to_string(*r.memory_limit));
    if (!first && !memsw) return fail(std::move(first).error());
    if (!first) {
      HULL_TRY(writeCgroupFile(dir, "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)));
      return writeCgroupFile(dir, "memory.limit_in_bytes", std::to_string(*r.memory_limit));
    }
  }
  if (memsw) {
    HULL_TRY(writeCgroupFile(dir, "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)));
  }
  return {};
}

Result<void> writeV1Cpu(const Path& dir, const oci::Resources& r) {
  if (r.cpu_period.value_or(0) != 0) {
    HULL_TRY(writeCgroupFile(dir, "cpu.cfs_period_us", std::to_string(*r.cpu_period)));
  }
  if (r.cpu_quota.value_or(0) != 0) {
    HULL_TRY(writeCgroupFile(dir, "cpu.cfs_quota_us", std::to_string(*r.cpu_quota)));
  }
  if (r.cpu_shares.value_or(0) != 0) {
    HULL_TRY(writeCgroupFile(dir, "cpu.shares", std::to_string(*r.cpu_shares)));
  }
  return {};
}

Result<void> writeV1Limits(const CgroupSystem& system, const std::string& rel,
                           const oci::Resources& r) {
  auto dirOf = [&](const char* controller) -> std::optional<Path> {
    auto it = system.controllers.find(controller);
    if (it == system.controllers.end()) return std::nullopt;
    return dirIn(it->second, rel);
  };
  if (auto dir = dirOf("memory")) HULL_TRY(writeV1Memory(*dir, r));
  if (auto dir = dirOf("cpu")) HULL_TRY(writeV1Cpu(*dir, r));
  if (auto dir = dirOf("cpuset")) {
    if (!r.cpuset_cpus.empty()) HULL_TRY(writeCgroupFile(*dir, "cpuset.cpus", r.cpuset_cpus));
    if (!r.cpuset_mems.empty()) HULL_TRY(writeCgroupFile(*dir, "cpuset.mems", r.cpuset_mems));
  }
  if (auto dir = dirOf("pids"); dir && r.pids_limit) {
    HULL_TRY(writeCgroupFile(*dir, "pids.max",
                             *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
  }
  if (auto dir = dirOf("devices"); dir && !r.devices.empty()) {
    // Start from nothing, then the spec's rules in order (the last matching rule wins).
    HULL_TRY(writeCgroupFile(*dir, "devices.deny", "a"));
    for (const oci::DeviceCgroupRule& rule : r.devices) {
      HULL_TRY(
          writeCgroupFile(*dir, rule.allow ? "devices.allow" : "devices.deny", deviceRule(rule)));
    }
  }
  if (!r.unified.empty()) {
    if (system.unified.empty()) {
      return fail(Errc::kUnsupported,
                  "unified cgroup settings need cgroup v2, which is not "
                  "mounted here");
    }
    HULL_TRY(writeUnifiedMap(dirIn(system.unified, rel), r.unified));
  }
  return {};
}

// The tree whose cgroup.procs lists every process of the container.
Path primaryDir(const CgroupSystem& system, const std::string& rel) {
  if (!system.unified.empty()) return dirIn(system.unified, rel);
  for (const char* controller : {"pids", "freezer", "memory", "cpu"}) {
    auto it = system.controllers.find(controller);
    if (it != system.controllers.end()) return dirIn(it->second, rel);
  }
  return dirIn(system.hierarchies().front(), rel);
}

}  // namespace

Result<Cgroup> Cgroup::create(const CgroupSystem& system, std::string path,
                              const oci::Resources& resources) {
  HULL_ASSIGN_OR_RETURN(std::string rel, normalizePath(path));
  // 1. Every limit asked for has its controller here, before anything is made.
  std::map<std::string, std::string> need = neededControllers(resources);
  std::set<std::string> have;
  if (system.layout == CgroupLayout::kUnified) {
    HULL_ASSIGN_OR_RETURN(have, unifiedControllers(system.unified));
  } else {
    for (const auto& [controller, mount] : system.controllers) have.insert(controller);
  }
  HULL_TRY(requireControllers(need, have));

  // 2. The directory in every hierarchy; from here on a failure removes what was made.
  Cgroup cgroup(system, rel);
  ScopeExit undo([&] { (void)cgroup.destroy(); });
  for (const Path& mount : system.hierarchies()) {
    if (system.layout == CgroupLayout::kUnified) {
      HULL_TRY(makeDirs(mount, rel));
      HULL_TRY(enableV2Controllers(mount, rel, need, have));
      continue;
    }
    HULL_TRY(makeDirs(mount, rel));
    auto cpuset = system.controllers.find("cpuset");
    if (cpuset != system.controllers.end() && cpuset->second == mount) {
      HULL_TRY(fillCpuset(mount, rel));
    }
  }

  // 3. The limits, as the kernel's files.
  auto written = system.layout == CgroupLayout::kUnified
                     ? writeV2Limits(dirIn(system.unified, rel), resources)
                     : writeV1Limits(system, rel, resources);
  if (!written) return fail(std::move(written).error().wrap("cgroup " + rel));
  undo.dismiss();
  return cgroup;
}

Cgroup Cgroup::open(const CgroupSystem& system, std::string path) {
  // A path that could leave the hierarchy is kept empty: every operation then refuses.
  auto rel = normalizePath(path);
  return Cgroup(system, rel ? *rel : std::string());
}

Result<void> Cgroup::checkPath() const {
  if (path_.empty()) return fail(Errc::kInvalidArgument, "invalid cgroup path");
  return {};
}

Result<void> Cgroup::addProcess(pid_t pid) const {
  HULL_TRY(checkPath());
  for (const Path& mount : system_.hierarchies()) {
    HULL_TRY(writeCgroupFile(dirIn(mount, path_), "cgroup.procs", std::to_string(pid)));
  }
  return {};
}

Result<void> Cgroup::addProcessToV2(pid_t pid) const {
  HULL_TRY(checkPath());
  if (system_.unified.empty()) return {};
  return writeCgroupFile(dirIn(system_.unified, path_), "cgroup.procs", std::to_string(pid));
}

Result<CgroupEntry> Cgroup::openEntry() const {
  HULL_TRY(checkPath());
  CgroupEntry entry;
  for (const Path& mount : system_.hierarchies()) {
    Path dir = dirIn(mount, path_);
    if (mount == system_.unified) {
      entry.v2_dir.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!entry.v2_dir) return failErrno("open " + dir.string());
      continue;
    }
    Path tasks = dir / "tasks";
    UniqueFd fd(::open(tasks.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return failErrno("open " + tasks.string());
    entry.v1_tasks.push_back(std::move(fd));
  }
  return entry;
}

Result<void> CgroupEntry::joinV1() const {
  for (const UniqueFd& fd : v1_tasks) {
    ssize_t n;
    do {
      n = ::write(fd.get(), "0", 1);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return failErrno("join the container's cgroup");
  }
  return {};
}

long cloneProcess(uint64_t flags, int cgroup_fd) {
  struct clone_args args {};
  args.flags = flags;
  // A CLONE_PARENT child signals its parent as the caller would (SIGCHLD for a forked stage);
  // clone3 refuses an exit signal of its own with that flag.
  args.exit_signal = (flags & CLONE_PARENT) != 0 ? 0 : SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  return ::syscall(SYS_clone3, &args, sizeof args);
}

bool cloneIntoCgroupWorks() {
  // A descriptor that cannot be open: a kernel that knows CLONE_INTO_CGROUP looks it up and
  // answers EBADF before any process is made; an older one refuses the flag or the call.
  static const bool works = [] {
    // Shared memory, files and handlers: the kernel copies nothing on the way to that answer.
    struct clone_args args {};
    args.flags = CLONE_INTO_CGROUP | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(std::numeric_limits<int>::max());
    long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) ::_exit(127);  // not reached: no kernel makes a child with a bad descriptor
    if (r > 0) ::waitpid(static_cast<pid_t>(r), nullptr, 0);
    return r < 0 && errno == EBADF;
  }();
  return works;
}

Result<std::vector<pid_t>> Cgroup::pids() const {
  HULL_TRY(checkPath());
  HULL_ASSIGN_OR_RETURN(std::string text,
                        readCgroupFile(primaryDir(system_, path_), "cgroup.procs"));
  std::vector<pid_t> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(text.data() + start, text.data() + end, pid);
    if (ec == std::errc() && pid > 0) out.push_back(pid);
    start = end + 1;
  }
  return out;
}

namespace {

// Stops every task so none can fork while the list is being killed.
void setFrozen(const CgroupSystem& system, const std::string& rel, bool frozen) {
  if (!system.unified.empty() && fileExists(dirIn(system.unified, rel) / "cgroup.freeze")) {
    (void)writeCgroupFile(dirIn(system.unified, rel), "cgroup.freeze", frozen ? "1" : "0");
    return;
  }
  auto it = system.controllers.find("freezer");
  if (it == system.controllers.end()) return;
  Path dir = dirIn(it->second, rel);
  (void)writeCgroupFile(dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
  // FREEZING is transitional; wait for it to settle so no task escapes the kill.
  for (int i = 0; frozen && i < kPollRounds; ++i) {
    auto state = readCgroupFile(dir, "freezer.state");
    if (!state || *state == "FROZEN") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

Result<void> Cgroup::killAll() const {
  HULL_TRY(checkPath());
  Path unified_dir = system_.unified.empty() ? Path() : dirIn(system_.unified, path_);
  if (!unified_dir.empty() && fileExists(unified_dir / "cgroup.kill")) {
    HULL_TRY(writeCgroupFile(unified_dir, "cgroup.kill", "1"));
  } else {
    setFrozen(system_, path_, true);
    auto listed = pids();
    if (listed) {
      for (pid_t pid : *listed) ::kill(pid, SIGKILL);
    }
    // A v1-frozen task dies only once thawed.
    setFrozen(system_, path_, false);
  }
  // Whatever forked in between, or has not finished dying, until the list is empty.
  for (int i = 0; i < kPollRounds; ++i) {
    auto listed = pids();
    if (!listed) {
      if (listed.error().code == Errc::kNotFound) return {};
      return fail(std::move(listed).error());
    }
    if (listed->empty()) return {};
    for (pid_t pid : *listed) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(kPoll);
  }
  return fail(Errc::kBusy, "cgroup " + path_ + ": processes still listed after SIGKILL");
}

Result<void> Cgroup::destroy() const {
  HULL_TRY(checkPath());
  for (const Path& mount : system_.hierarchies()) {
    Path dir = dirIn(mount, path_);
    for (int i = 0;; ++i) {
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) break;
      // Tasks that were just killed keep the cgroup busy until they are gone.
      if (errno != EBUSY || i >= kPollRounds) return failErrno("remove cgroup " + dir.string());
      std::this_thread::sleep_for(kPoll);
    }
  }
  return {};
}

Result<CgroupStats> Cgroup::stats() const {
  HULL_TRY(checkPath());
  CgroupStats stats;
  auto v1 = [&](const char* controller) -> std::optional<Path> {
    auto it = system_.controllers.find(controller);
    if (it == system_.controllers.end()) return std::nullopt;
    return dirIn(it->second, path_);
  };
  std::optional<Path> unified;
  if (!system_.unified.empty()) unified = dirIn(system_.unified, path_);
  if (system_.layout == CgroupLayout::kUnified) {
    stats.memory_current = readInt(*unified / "memory.current");
    stats.pids_current = readInt(*unified / "pids.current");
  } else {
    if (auto dir = v1("memory")) stats.memory_current = readInt(*dir / "memory.usage_in_bytes");
    if (auto dir = v1("pids")) stats.pids_current = readInt(*dir / "pids.current");
    if (auto dir = v1("cpuacct")) {
      if (auto ns = readInt(*dir / "cpuacct.usage")) stats.cpu_usage_usec = *ns / 1000;
    }
  }
  // cgroup v2 keeps cpu.stat's usage_usec in every cgroup, with or without the cpu controller.
  if (!stats.cpu_usage_usec && unified) {
    if (auto text = readFile(*unified / "cpu.stat", 1u << 16); text) {
      if (auto pos = text->find("usage_usec "); pos != std::string::npos) {
        uint64_t usec = 0;
        const char* begin = text->data() + pos + 11;
        auto [p, ec] = std::from_chars(begin, text->data() + text->size(), usec);
        if (ec == std::errc()) stats.cpu_usage_usec = usec;
      }
    }
  }
  if (!stats.memory_current && !stats.pids_current && !stats.cpu_usage_usec &&
      !fileExists(primaryDir(system_, path_))) {
    return fail(Errc::kNotFound, "cgroup " + path_ + " does not exist");
  }
  return stats;
}

}  // namespace hull::runtime
