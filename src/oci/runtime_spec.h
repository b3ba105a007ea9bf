// The OCI Runtime Spec's config.json as typed values, and its JSON codec. No I/O.
// Only what hull sets or honours is modelled; unknown fields are ignored when decoding, as the
// spec asks, and the original document is kept in `raw` for tools that want the rest.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace hull::oci {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  friend bool operator==(const User&, const User&) = default;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;  // "CAP_CHOWN"
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
  friend bool operator==(const ConsoleSize&, const ConsoleSize&) = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  friend bool operator==(const Process&, const Process&) = default;
};

struct Root {
  std::string path = "rootfs";  // relative to the bundle or absolute
  bool readonly = false;
  friend bool operator==(const Root&, const Root&) = default;
};

struct Mount {
  std::string destination;
  std::string type;  // "bind", "proc", "tmpfs", ...; empty means bind when options say so
  std::string source;
  std::vector<std::string> options;  // "rbind", "ro", "nosuid", "mode=755", "size=65536k", ...
  friend bool operator==(const Mount&, const Mount&) = default;
};

struct Namespace {
  std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
  std::string path;  // join this one instead of making a new one
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
  friend bool operator==(const IdMapping&, const IdMapping&) = default;
};

struct Device {
  std::string path;
  std::string type;  // c, b, u, p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  friend bool operator==(const Device&, const Device&) = default;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;                     // a, c, b; empty means all
  std::optional<int64_t> major, minor;  // nullopt means '*'
  std::string access;                   // "rwm"
  friend bool operator==(const DeviceCgroupRule&, const DeviceCgroupRule&) = default;
};

struct Resources {
  std::optional<int64_t> memory_limit;  // bytes
  std::optional<int64_t> memory_reservation;
  std::optional<int64_t> memory_swap;  // memory+swap, bytes; -1 unlimited
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;  // microseconds per period
  std::optional<uint64_t> cpu_period;
  std::string cpuset_cpus;
  std::string cpuset_mems;
  std::optional<int64_t> pids_limit;
  std::vector<DeviceCgroupRule> devices;
  std::map<std::string, std::string> unified;  // cgroup v2 files, e.g. "memory.high"
  friend bool operator==(const Resources&, const Resources&) = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ, ...
  friend bool operator==(const SeccompArg&, const SeccompArg&) = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
  friend bool operator==(const SeccompSyscall&, const SeccompSyscall&) = default;
};

struct Seccomp {
  std::string default_action;  // SCMP_ACT_ERRNO
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_X86_64, ...
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
  friend bool operator==(const Seccomp&, const Seccomp&) = default;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;  // "/hull/<id>" or "slice:prefix:name" (systemd form, refused)
  std::optional<Resources> resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string rootfs_propagation;  // private, rprivate, slave, rslave, shared, rshared
  std::string mount_label;
  friend bool operator==(const Linux&, const Linux&) = default;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
  friend bool operator==(const Hook&, const Hook&) = default;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
  friend bool operator==(const Hooks&, const Hooks&) = default;
};

struct RuntimeSpec {
  std::string oci_version = "1.0.2";
  std::optional<Process> process;
  Root root;
  std::string hostname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
  friend bool operator==(const RuntimeSpec&, const RuntimeSpec&) = default;
};

Json toJson(const RuntimeSpec& spec);
Json toJson(const Process& process);
Result<RuntimeSpec> runtimeSpecFromJson(const Json& j);
Result<Process> processFromJson(const Json& j);

// Parses an untrusted config.json / process.json (size-capped by the caller).
Result<RuntimeSpec> parseRuntimeSpec(std::string_view bytes);
Result<Process> parseProcess(std::string_view bytes);

// Pretty JSON as runtimes write config.json (two-space indent, stable key order).
std::string serialize(const RuntimeSpec& spec);

}  // namespace hull::oci
