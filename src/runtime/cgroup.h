// Cgroups for containers on every layout a Linux machine may have: pure v2, hybrid (v1
// controllers plus a v2 tree, usually at /sys/fs/cgroup/unified) and pure v1. The layout is read
// from /proc/self/mountinfo, never assumed (this project's own machines run hybrid).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "oci/runtime_spec.h"

namespace hull::runtime {

enum class CgroupLayout { kUnified, kHybrid, kLegacy };

struct CgroupSystem {
  CgroupLayout layout = CgroupLayout::kUnified;
  std::filesystem::path unified;  // cgroup2 mount point; empty on pure v1
  std::map<std::string, std::filesystem::path> controllers;  // v1: "memory" -> its mount point
  // Parses mountinfo text (pure, for tests) or reads /proc/self/mountinfo.
  static Result<CgroupSystem> fromMountinfo(std::string_view mountinfo);
  static Result<CgroupSystem> detect();
  // Every directory tree a container's cgroup lives in: each v1 mount once (co-mounted
  // controllers such as "cpu,cpuacct" share one), then the v2 tree when there is one.
  std::vector<std::filesystem::path> hierarchies() const;
};

struct CgroupStats {
  std::optional<int64_t> memory_current;
  std::optional<int64_t> pids_current;
  std::optional<uint64_t> cpu_usage_usec;
};

// One container's cgroup: the same relative path ("/hull/<id>") in every hierarchy used.
class Cgroup {
 public:
  // Makes the directories and writes the limits; a limit the kernel lacks a controller for is an
  // error naming it (kUnsupported), and a failure removes what was made.
  static Result<Cgroup> create(const CgroupSystem& system, std::string path,
                               const oci::Resources& resources);
  // An existing cgroup (for exec, kill --all, delete).
  static Cgroup open(const CgroupSystem& system, std::string path);

  Result<void> addProcess(pid_t pid) const;
  Result<std::vector<pid_t>> pids() const;
  // SIGKILL every process (cgroup.kill on v2 where present, else freeze + kill + thaw).
  Result<void> killAll() const;
  // rmdir in every hierarchy; waits briefly for dying tasks; ENOENT is success.
  Result<void> destroy() const;
  Result<CgroupStats> stats() const;

  const std::string& path() const { return path_; }

 private:
  Cgroup(CgroupSystem system, std::string path)
      : system_(std::move(system)), path_(std::move(path)) {}
  Result<void> checkPath() const;
  CgroupSystem system_;
  std::string path_;
};

// Moving a process into a cgroup takes a kernel-wide lock whose first taker waits out an RCU grace
// period (8-15 ms on the machines here); a move made within about one grace period of the last
// one does not wait. A CgroupPrewarm pays that wait on a thread of its own, while the caller
// prepares a container, so that putting the container's init into its cgroup soon after is
// quick. The thread moves this process into the cgroup it is already in (no change), and does
// nothing where it cannot. join() (or the destructor) waits for it: call it before forking or
// cloning without glibc's fork.
class CgroupPrewarm {
 public:
  CgroupPrewarm();
  ~CgroupPrewarm() { join(); }
  CgroupPrewarm(const CgroupPrewarm&) = delete;
  CgroupPrewarm& operator=(const CgroupPrewarm&) = delete;
  void join();

 private:
  std::thread thread_;
};

// The cgroup.procs file of this process's own cgroup in its first v1 hierarchy (else the v2
// one), from /proc/self/cgroup text and the cgroup mounts; empty when there is none.
std::filesystem::path ownProcsFile(const CgroupSystem& system, std::string_view proc_self_cgroup);

// "512m", "1g", "1024" (bytes) — Docker's --memory/--shm-size units.
Result<int64_t> parseByteSize(std::string_view text);
// "1.5" → quota/period in microseconds (period 100000), as `docker run --cpus`.
// Like Docker, more CPUs than this process may run on is refused.
Result<std::pair<int64_t, uint64_t>> parseCpus(std::string_view text);
Result<std::pair<int64_t, uint64_t>> parseCpus(std::string_view text, int host_cpus);
// CPUs this process may run on (its affinity mask).
int hostCpuCount();

}  // namespace hull::runtime
