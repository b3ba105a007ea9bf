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
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
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

// How a new process enters a container's cgroup without waiting. Moving a process by writing
// its pid to cgroup.procs takes a kernel-wide lock whose first taker waits out an RCU grace
// period (8-15 ms on the machines here, and on every container start, exec and health check).
// Two ways in skip that lock: clone3() with CLONE_INTO_CGROUP starts the child in a v2 cgroup,
// and a single-threaded process that writes "0" to a v1 cgroup's `tasks` file moves itself
// alone, which the kernel does without it. The parent opens the files before it clones; the child
// calls joinV1() first, then drops the entry.
struct CgroupEntry {
  UniqueFd v2_dir;                 // the v2 directory, for CLONE_INTO_CGROUP; none on pure v1
  std::vector<UniqueFd> v1_tasks;  // each v1 tree's `tasks` file, open for writing
  // In the new single-threaded process: moves it into every v1 tree.
  Result<void> joinV1() const;
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
  // The v2 tree only (the way in where clone3 cannot put a child there); nothing on pure v1.
  Result<void> addProcessToV2(pid_t pid) const;
  // The files a new process enters by (CgroupEntry).
  Result<CgroupEntry> openEntry() const;
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

// fork(2)'s result from clone3(): a child with `flags` (CLONE_NEW*, CLONE_PARENT) and SIGCHLD,
// born in the v2 cgroup directory `cgroup_fd` when that is >= 0 (else where the caller is).
// Like fork without glibc: call it only from a single-threaded process.
long cloneProcess(uint64_t flags, int cgroup_fd);

// Whether clone3() takes CLONE_INTO_CGROUP here (Linux 5.7 on, where no seccomp filter of the
// caller's refuses clone3); asked of the kernel once a process.
bool cloneIntoCgroupWorks();

// "512m", "1g", "1024" (bytes) — Docker's --memory/--shm-size units.
Result<int64_t> parseByteSize(std::string_view text);
// "1.5" → quota/period in microseconds (period 100000), as `docker run --cpus`.
// Like Docker, more CPUs than this process may run on is refused.
Result<std::pair<int64_t, uint64_t>> parseCpus(std::string_view text);
Result<std::pair<int64_t, uint64_t>> parseCpus(std::string_view text, int host_cpus);
// CPUs this process may run on (its affinity mask).
int hostCpuCount();

}  // namespace hull::runtime
