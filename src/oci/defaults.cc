// Docker's defaults as tables. The seccomp profile is moby's profiles/seccomp/default.json
// written as C++ data (the same groups, in the same order), resolved by the same rules Docker's
// setupSeccomp applies to any profile, so the built-in profile and a user's file cannot drift.
#include "oci/defaults.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>

#include "oci/internal.h"
#include "oci/seccomp_profile.h"

namespace hull::oci {
namespace {

using detail::contains;

constexpr std::string_view kAllCapabilities[] = {"CAP_CHOWN",
                                                 "CAP_DAC_OVERRIDE",
                                                 "CAP_DAC_READ_SEARCH",
                                                 "CAP_FOWNER",
                                                 "CAP_FSETID",
                                                 "CAP_KILL",
                                                 "CAP_SETGID",
                                                 "CAP_SETUID",
                                                 "CAP_SETPCAP",
                                                 "CAP_LINUX_IMMUTABLE",
                                                 "CAP_NET_BIND_SERVICE",
                                                 "CAP_NET_BROADCAST",
                                                 "CAP_NET_ADMIN",
                                                 "CAP_NET_RAW",
                                                 "CAP_IPC_LOCK",
                                                 "CAP_IPC_OWNER",
                                                 "CAP_SYS_MODULE",
                                                 "CAP_SYS_RAWIO",
                                                 "CAP_SYS_CHROOT",
                                                 "CAP_SYS_PTRACE",
                                                 "CAP_SYS_PACCT",
                                                 "CAP_SYS_ADMIN",
                                                 "CAP_SYS_BOOT",
                                                 "CAP_SYS_NICE",
                                                 "CAP_SYS_RESOURCE",
                                                 "CAP_SYS_TIME",
                                                 "CAP_SYS_TTY_CONFIG",
                                                 "CAP_MKNOD",
                                                 "CAP_LEASE",
                                                 "CAP_AUDIT_WRITE",
                                                 "CAP_AUDIT_CONTROL",
                                                 "CAP_SETFCAP",
                                                 "CAP_MAC_OVERRIDE",
                                                 "CAP_MAC_ADMIN",
                                                 "CAP_SYSLOG",
                                                 "CAP_WAKE_ALARM",
                                                 "CAP_BLOCK_SUSPEND",
                                                 "CAP_AUDIT_READ",
                                                 "CAP_PERFMON",
                                                 "CAP_BPF",
                                                 "CAP_CHECKPOINT_RESTORE"};

// "sys_admin", "CAP_SYS_ADMIN", "Sys_Admin" → "CAP_SYS_ADMIN"; "all" → "ALL".
Result<std::vector<std::string>> normalizeCapabilities(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper != "ALL" && !upper.starts_with("CAP_")) upper = "CAP_" + upper;
    bool known = upper == "ALL" ||
                 std::find(std::begin(kAllCapabilities), std::end(kAllCapabilities), upper) !=
                     std::end(kAllCapabilities);
    if (!known) return fail(Errc::kInvalidArgument, "unknown capability: \"" + name + "\"");
    if (!contains(out, upper)) out.push_back(std::move(upper));
  }
  return out;
}

}  // namespace

std::vector<std::string> dockerDefaultCapabilities() {
  return {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
          "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
          "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
          "CAP_KILL",    "CAP_AUDIT_WRITE"};
}

std::vector<std::string> knownCapabilities() {
  return {std::begin(kAllCapabilities), std::end(kAllCapabilities)};
}

Result<std::vector<std::string>> applyCapChanges(const std::vector<std::string>& base,
                                                 const std::vector<std::string>& add,
                                                 const std::vector<std::string>& drop) {
  HULL_ASSIGN_OR_RETURN(std::vector<std::string> adds, normalizeCapabilities(add));
  HULL_ASSIGN_OR_RETURN(std::vector<std::string> drops, normalizeCapabilities(drop));
  std::vector<std::string> caps;
  if (contains(adds, "ALL")) {
    for (std::string_view cap : kAllCapabilities) {
      if (!contains(drops, cap)) caps.emplace_back(cap);
    }
    return caps;
  }
  if (!contains(drops, "ALL")) {
    for (const std::string& cap : base) {
      if (!contains(drops, cap) && !contains(caps, cap)) caps.push_back(cap);
    }
  }
  for (const std::string& cap : adds) {
    if (!contains(caps, cap)) caps.push_back(cap);
  }
  return caps;
}

std::vector<std::string> dockerMaskedPaths() {
  return {"/proc/asound",
          "/proc/acpi",
          "/proc/kcore",
          "/proc/keys",
          "/proc/latency_stats",
          "/proc/timer_list",
          "/proc/timer_stats",
          "/proc/sched_debug",
          "/proc/scsi",
          "/sys/firmware",
          "/sys/devices/virtual/powercap"};
}

std::vector<std::string> dockerReadonlyPaths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

namespace {

// CLONE_NEWNS | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWCGROUP: clone(2) without
// CAP_SYS_ADMIN may make threads and processes, never namespaces.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;
constexpr uint64_t kAfVsock = 40;
constexpr uint32_t kEperm = 1;
constexpr uint32_t kEnosys = 38;

SeccompArg arg(uint32_t index, uint64_t value, const char* op, uint64_t value_two = 0) {
  return SeccompArg{.index = index, .value = value, .value_two = value_two, .op = op};
}

ProfileSyscall allow(std::vector<std::string> names) {
  ProfileSyscall s;
  s.names = std::move(names);
  s.action = "SCMP_ACT_ALLOW";
  return s;
}
ProfileSyscall allowWith(std::vector<std::string> names, std::vector<SeccompArg> args) {
  ProfileSyscall s = allow(std::move(names));
  s.args = std::move(args);
  return s;
}
ProfileSyscall allowForCap(std::vector<std::string> names, std::string cap) {
  ProfileSyscall s = allow(std::move(names));
  s.includes.caps = {std::move(cap)};
  return s;
}
ProfileSyscall allowForArches(std::vector<std::string> names, std::vector<std::string> arches) {
  ProfileSyscall s = allow(std::move(names));
  s.includes.arches = std::move(arches);
  return s;
}

// The syscalls every container may make, whatever its capabilities (space-separated).
constexpr std::string_view kBaseAllowList =
    "accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
    "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
    "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl "
    "epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 "
    "execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate "
    "fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync "
    "fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 "
    "fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv "
    "futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 "
    "getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid "
    "getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit "
    "get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid "
    "gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 "
    "inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents "
    "io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter "
    "io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset "
    "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr "
    "llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier "
    "memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall "
    "mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive "
    "mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl "
    "msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep "
    "newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe "
    "pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv "
    "preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 "
    "read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 "
    "recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir "
    "rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn "
    "rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo "
    "sched_getaffinity sched_getattr sched_getparam sched_get_priority_max "
    "sched_get_priority_min sched_getscheduler sched_rr_get_interval "
    "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
    "sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
    "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid "
    "setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer "
    "setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 "
    "setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area "
    "set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown "
    "sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice "
    "stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs "
    "sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime "
    "timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime "
    "timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 "
    "ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork "
    "vmsplice wait4 waitid waitpid write writev";

std::vector<std::string> baseAllowList() {
  std::vector<std::string> names;
  size_t start = 0;
  while (start < kBaseAllowList.size()) {
    size_t end = kBaseAllowList.find(' ', start);
    if (end == std::string_view::npos) end = kBaseAllowList.size();
    names.emplace_back(kBaseAllowList.substr(start, end - start));
    start = end + 1;
  }
  return names;
}

// Arguments and architectures: personality, clone, socket and the per-arch extras.
void addArgumentRules(std::vector<ProfileSyscall>& s) {
  ProfileSyscall tracing = allow({"process_vm_readv", "process_vm_writev", "ptrace"});
  // Before Linux 4.8 ptrace could be used to bypass seccomp.
  tracing.includes.min_kernel = KernelVersion{.major = 4, .minor = 8};
  s.push_back(std::move(tracing));
  s.push_back(allowWith({"socket"}, {arg(0, kAfVsock, "SCMP_CMP_NE")}));
  // personality: only the harmless personas (Linux, UNAME26 and 32-bit, and the query).
  for (uint64_t persona : {0x0ull, 0x0008ull, 0x20000ull, 0x20008ull, 0xffffffffull}) {
    s.push_back(allowWith({"personality"}, {arg(0, persona, "SCMP_CMP_EQ")}));
  }
  s.push_back(allowForArches({"sync_file_range2", "swapcontext"}, {"ppc64le"}));
  s.push_back(allowForArches({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
                              "breakpoint", "cacheflush", "set_tls"},
                             {"arm", "arm64"}));
  s.push_back(allowForArches({"arch_prctl"}, {"amd64", "x32"}));
  s.push_back(allowForArches({"modify_ldt"}, {"amd64", "x32", "x86"}));
  s.push_back(allowForArches({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
                             {"s390", "s390x"}));
  s.push_back(allowForArches({"riscv_flush_icache"}, {"riscv64"}));
}

void addCloneRules(std::vector<ProfileSyscall>& s) {
  ProfileSyscall clone = allowWith({"clone"}, {arg(0, kCloneNamespaceFlags, "SCMP_CMP_MASKED_EQ")});
  clone.excludes.caps = {"CAP_SYS_ADMIN"};
  clone.excludes.arches = {"s390", "s390x"};
  s.push_back(std::move(clone));
  // s390 passes clone's flags as the second argument.
  ProfileSyscall s390 = allowWith({"clone"}, {arg(1, kCloneNamespaceFlags, "SCMP_CMP_MASKED_EQ")});
  s390.includes.arches = {"s390", "s390x"};
  s390.excludes.caps = {"CAP_SYS_ADMIN"};
  s.push_back(std::move(s390));
  // clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes libc fall back
  // to clone, which the rules above can check.
  ProfileSyscall clone3;
  clone3.names = {"clone3"};
  clone3.action = "SCMP_ACT_ERRNO";
  clone3.errno_ret = kEnosys;
  clone3.excludes.caps = {"CAP_SYS_ADMIN"};
  s.push_back(std::move(clone3));
}

// Groups unlocked by one capability each.
void addCapabilityRules(std::vector<ProfileSyscall>& s) {
  s.push_back(allowForCap({"open_by_handle_at"}, "CAP_DAC_READ_SEARCH"));
  s.push_back(
      allowForCap({"bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
                   "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
                   "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
                   "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
                   "umount",        "umount2",       "unshare"},
                  "CAP_SYS_ADMIN"));
  addCloneRules(s);
  s.push_back(allowForCap({"reboot"}, "CAP_SYS_BOOT"));
  s.push_back(allowForCap({"chroot"}, "CAP_SYS_CHROOT"));
  s.push_back(allowForCap({"delete_module", "init_module", "finit_module"}, "CAP_SYS_MODULE"));
  s.push_back(allowForCap({"acct"}, "CAP_SYS_PACCT"));
  s.push_back(allowForCap(
      {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
      "CAP_SYS_PTRACE"));
  s.push_back(allowForCap({"iopl", "ioperm"}, "CAP_SYS_RAWIO"));
  s.push_back(
      allowForCap({"settimeofday", "stime", "clock_settime", "clock_settime64"}, "CAP_SYS_TIME"));
  s.push_back(allowForCap({"vhangup"}, "CAP_SYS_TTY_CONFIG"));
  s.push_back(allowForCap({"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
                          "CAP_SYS_NICE"));
  s.push_back(allowForCap({"syslog"}, "CAP_SYSLOG"));
  s.push_back(allowForCap({"bpf"}, "CAP_BPF"));
  s.push_back(allowForCap({"perf_event_open"}, "CAP_PERFMON"));
}

const SeccompProfile& defaultProfile() {
  static const SeccompProfile profile = [] {
    SeccompProfile p;
    p.default_action = "SCMP_ACT_ERRNO";
    p.default_errno_ret = kEperm;
    p.arch_map = {
        {"SCMP_ARCH_X86_64", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
        {"SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM"}},
        {"SCMP_ARCH_MIPS64", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}},
        {"SCMP_ARCH_MIPS64N32", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"}},
        {"SCMP_ARCH_MIPSEL64", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}},
        {"SCMP_ARCH_MIPSEL64N32", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"}},
        {"SCMP_ARCH_S390X", {"SCMP_ARCH_S390"}},
        {"SCMP_ARCH_RISCV64", {}},
    };
    p.syscalls.push_back(allow(baseAllowList()));
    addArgumentRules(p.syscalls);
    addCapabilityRules(p.syscalls);
    return p;
  }();
  return profile;
}

}  // namespace

Seccomp dockerDefaultSeccomp(const std::vector<std::string>& capabilities) {
  SeccompContext context;
  context.capabilities = capabilities;
  return dockerDefaultSeccomp(context);
}

Seccomp dockerDefaultSeccomp(const SeccompContext& context) {
  auto resolved = resolveSeccompProfile(defaultProfile(), context);
  // The built-in profile names neither "architectures" nor a bad kernel version: it resolves.
  if (!resolved) std::abort();
  return *std::move(resolved);
}

}  // namespace hull::oci
