#include "oci/defaults.h"

#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"

namespace hull::oci {
namespace {

using Strings = std::vector<std::string>;

bool has(const Strings& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The rules that name a syscall.
std::vector<SeccompSyscall> rulesFor(const Seccomp& s, std::string_view name) {
  std::vector<SeccompSyscall> out;
  for (const SeccompSyscall& rule : s.syscalls) {
    if (has(rule.names, name)) out.push_back(rule);
  }
  return out;
}

// Allowed whatever its arguments.
bool allowedOutright(const Seccomp& s, std::string_view name) {
  for (const SeccompSyscall& rule : rulesFor(s, name)) {
    if (rule.action == "SCMP_ACT_ALLOW" && rule.args.empty()) return true;
  }
  return false;
}

bool allowedAtAll(const Seccomp& s, std::string_view name) {
  for (const SeccompSyscall& rule : rulesFor(s, name)) {
    if (rule.action == "SCMP_ACT_ALLOW") return true;
  }
  return false;
}

Strings withCap(std::string cap) {
  Strings caps = dockerDefaultCapabilities();
  caps.push_back(std::move(cap));
  return caps;
}

TEST(DockerCapabilities, TheFourteenDefaults) {
  Strings caps = dockerDefaultCapabilities();
  EXPECT_EQ(caps.size(), 14u);
  for (const char* cap :
       {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}) {
    EXPECT_TRUE(has(caps, cap)) << cap;
  }
  EXPECT_FALSE(has(caps, "CAP_SYS_ADMIN"));
  EXPECT_EQ(knownCapabilities().size(), 41u);
}

TEST(DockerCapabilities, AddAndDropWithDockerSpelling) {
  Strings base = dockerDefaultCapabilities();
  auto caps = applyCapChanges(base, {"sys_admin", "Cap_Net_Admin"}, {"NET_RAW", "cap_mknod"});
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_TRUE(has(*caps, "CAP_SYS_ADMIN"));
  EXPECT_TRUE(has(*caps, "CAP_NET_ADMIN"));
  EXPECT_FALSE(has(*caps, "CAP_NET_RAW"));
  EXPECT_FALSE(has(*caps, "CAP_MKNOD"));
  EXPECT_EQ(caps->size(), 14u);

  EXPECT_EQ(*applyCapChanges(base, {}, {}), base);
  EXPECT_EQ(*applyCapChanges(base, {"chown"}, {}), base);  // no duplicates
  EXPECT_EQ(*applyCapChanges(base, {"chown", "kill"}, {"all"}), (Strings{"CAP_CHOWN", "CAP_KILL"}));
  EXPECT_TRUE(applyCapChanges(base, {}, {"ALL"})->empty());

  auto all = applyCapChanges(base, {"ALL"}, {"sys_module"});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), knownCapabilities().size() - 1);
  EXPECT_FALSE(has(*all, "CAP_SYS_MODULE"));
  EXPECT_TRUE(has(*all, "CAP_SYS_ADMIN"));
}

TEST(DockerCapabilities, UnknownNamesAreErrors) {
  for (const char* bad : {"CAP_FOO", "foo", "", "CAP_", "SYS ADMIN", "CAP_SYS_ADMIN\n"}) {
    auto r = applyCapChanges(dockerDefaultCapabilities(), {bad}, {});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message.find("unknown capability"), std::string::npos);
  }
  EXPECT_FALSE(applyCapChanges({}, {}, {"CAP_NOPE"}));
}

TEST(DockerPaths, MaskedAndReadonly) {
  Strings masked = dockerMaskedPaths();
  for (const char* p :
       {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap"}) {
    EXPECT_TRUE(has(masked, p)) << p;
  }
  EXPECT_EQ(masked.size(), 11u);
  EXPECT_EQ(dockerReadonlyPaths(),
            (Strings{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST(DockerSeccomp, DefaultCapabilitiesDenyTheDangerousCalls) {
  Seccomp s = dockerDefaultSeccomp(dockerDefaultCapabilities());
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, 1u);  // EPERM
  for (const char* denied :
       {"mount",       "umount2", "unshare", "setns",        "keyctl",          "add_key",
        "request_key", "bpf",     "reboot",  "kexec_load",   "init_module",     "open_by_handle_at",
        "pivot_root",  "swapon",  "acct",    "settimeofday", "perf_event_open", "userfaultfd",
        "iopl",        "vhangup", "mbind"}) {
    EXPECT_FALSE(allowedAtAll(s, denied)) << denied;
  }
  for (const char* allowed : {"read", "write", "execve", "openat", "exit_group", "futex",
                              "io_uring_setup", "rseq", "chroot"}) {
    EXPECT_TRUE(allowedOutright(s, allowed)) << allowed;
  }
  // Linux 4.8 closed the seccomp bypass through ptrace, so moby allows it from there on.
  EXPECT_TRUE(allowedOutright(s, "ptrace"));
}

TEST(DockerSeccomp, CloneOnlyWithoutNamespaceFlags) {
  Seccomp s = dockerDefaultSeccomp(dockerDefaultCapabilities());
  EXPECT_FALSE(allowedOutright(s, "clone"));
  auto clone = rulesFor(s, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_EQ(clone[0].action, "SCMP_ACT_ALLOW");
  ASSERT_EQ(clone[0].args.size(), 1u);
  EXPECT_EQ(clone[0].args[0].index, 0u);
  EXPECT_EQ(clone[0].args[0].value, 0x7E020000u);
  EXPECT_EQ(clone[0].args[0].value_two, 0u);
  EXPECT_EQ(clone[0].args[0].op, "SCMP_CMP_MASKED_EQ");

  auto clone3 = rulesFor(s, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0].action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(clone3[0].errno_ret, 38u);  // ENOSYS: libc falls back to clone
}

TEST(DockerSeccomp, CapabilitiesUnlockTheirGroups) {
  Seccomp admin = dockerDefaultSeccomp(withCap("CAP_SYS_ADMIN"));
  for (const char* call : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf"}) {
    EXPECT_TRUE(allowedOutright(admin, call)) << call;
  }
  for (const SeccompSyscall& rule : rulesFor(admin, "clone3")) {
    EXPECT_EQ(rule.action, "SCMP_ACT_ALLOW");
  }
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_BOOT")), "reboot"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_MODULE")), "init_module"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_PTRACE")), "kcmp"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_TIME")), "settimeofday"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_NICE")), "mbind"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYSLOG")), "syslog"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_RAWIO")), "iopl"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_PACCT")), "acct"));
  EXPECT_TRUE(allowedOutright(dockerDefaultSeccomp(withCap("CAP_SYS_TTY_CONFIG")), "vhangup"));
  EXPECT_TRUE(
      allowedOutright(dockerDefaultSeccomp(withCap("CAP_DAC_READ_SEARCH")), "open_by_handle_at"));
  // Without CAP_SYS_CHROOT, chroot goes too.
  auto no_chroot = applyCapChanges(dockerDefaultCapabilities(), {}, {"SYS_CHROOT"});
  EXPECT_FALSE(allowedAtAll(dockerDefaultSeccomp(*no_chroot), "chroot"));
}

TEST(DockerSeccomp, ArgumentRules) {
  Seccomp s = dockerDefaultSeccomp(dockerDefaultCapabilities());
  auto personality = rulesFor(s, "personality");
  ASSERT_EQ(personality.size(), 5u);
  std::vector<uint64_t> personas;
  for (const auto& rule : personality) {
    ASSERT_EQ(rule.args.size(), 1u);
    EXPECT_EQ(rule.args[0].op, "SCMP_CMP_EQ");
    personas.push_back(rule.args[0].value);
  }
  EXPECT_EQ(personas, (std::vector<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
  auto socket = rulesFor(s, "socket");
  ASSERT_EQ(socket.size(), 1u);
  ASSERT_EQ(socket[0].args.size(), 1u);
  EXPECT_EQ(socket[0].args[0].op, "SCMP_CMP_NE");
  EXPECT_EQ(socket[0].args[0].value, 40u);  // AF_VSOCK
}

TEST(DockerSeccomp, ArchitecturesAndKernel) {
  SeccompContext amd64;
  amd64.capabilities = dockerDefaultCapabilities();
  amd64.arch = "amd64";
  Seccomp x86 = dockerDefaultSeccomp(amd64);
  EXPECT_EQ(x86.architectures, (Strings{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_TRUE(allowedOutright(x86, "arch_prctl"));
  EXPECT_TRUE(allowedOutright(x86, "modify_ldt"));
  EXPECT_FALSE(allowedAtAll(x86, "set_tls"));

  SeccompContext arm64 = amd64;
  arm64.arch = "arm64";
  Seccomp arm = dockerDefaultSeccomp(arm64);
  EXPECT_EQ(arm.architectures, (Strings{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  EXPECT_TRUE(allowedOutright(arm, "set_tls"));
  EXPECT_FALSE(allowedAtAll(arm, "arch_prctl"));

  SeccompContext old = amd64;
  old.kernel = KernelVersion{.major = 4, .minor = 4};
  EXPECT_FALSE(allowedAtAll(dockerDefaultSeccomp(old), "ptrace"));

#if defined(__x86_64__)
  EXPECT_EQ(dockerDefaultSeccomp(dockerDefaultCapabilities()).architectures, x86.architectures);
#endif
}

constexpr std::string_view kProfile = R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "archMap": [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
  ],
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"name": "getpid", "action": "SCMP_ACT_ALLOW", "comment": "old single-name form"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
     "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
    {"names": ["newthing"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["kill"], "action": "SCMP_ACT_LOG", "excludes": {"arches": ["s390x"]}}
  ]
})";

TEST(SeccompProfileFile, ResolvedLikeDocker) {
  SeccompContext context;
  context.capabilities = dockerDefaultCapabilities();
  context.arch = "amd64";
  auto s = parseSeccompProfile(kProfile, context);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s->default_errno_ret, 1u);
  EXPECT_EQ(s->architectures, (Strings{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_TRUE(allowedOutright(*s, "read"));
  EXPECT_TRUE(allowedOutright(*s, "getpid"));
  EXPECT_FALSE(allowedAtAll(*s, "mount"));
  EXPECT_TRUE(allowedAtAll(*s, "clone"));
  EXPECT_TRUE(allowedOutright(*s, "ptrace"));
  EXPECT_FALSE(allowedAtAll(*s, "newthing"));
  EXPECT_TRUE(allowedOutright(*s, "arch_prctl"));
  ASSERT_EQ(rulesFor(*s, "clone3").size(), 1u);
  EXPECT_EQ(rulesFor(*s, "clone3")[0].errno_ret, 38u);
  EXPECT_EQ(rulesFor(*s, "kill")[0].action, "SCMP_ACT_LOG");

  context.capabilities.push_back("CAP_SYS_ADMIN");
  context.arch = "arm64";
  auto admin = parseSeccompProfile(kProfile, context);
  ASSERT_TRUE(admin) << admin.error().message;
  EXPECT_EQ(admin->architectures, (Strings{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  EXPECT_TRUE(allowedOutright(*admin, "mount"));
  EXPECT_FALSE(allowedAtAll(*admin, "clone"));  // the masked rule is excluded, nothing else
  EXPECT_FALSE(allowedAtAll(*admin, "arch_prctl"));
}

TEST(SeccompProfileFile, PlainArchitecturesAndFlags) {
  auto s = parseSeccompProfile(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SCMP_FLAG_LOG"],
      "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->architectures, Strings{"SCMP_ARCH_X86_64"});
  EXPECT_EQ(s->flags, Strings{"SCMP_FLAG_LOG"});
  ASSERT_EQ(s->syscalls.size(), 1u);
  EXPECT_FALSE(s->syscalls[0].errno_ret.has_value());
}

TEST(SeccompProfileFile, HostileInput) {
  const char* bad[] = {
      "",
      "not json",
      "[]",
      "{}",
      R"({"syscalls": []})",
      R"({"defaultAction": 1})",
      R"({"defaultAction": "SCMP_ACT_EXPLODE"})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1.5})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 99999999999})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [1]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [7], "action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["../etc"], "action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{},{},{},{},{},{},{}]}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.1"}}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": []}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": "CAP_SYS_ADMIN"}}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["nope"]}]})",
      R"({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SCMP_FLAG_YOLO"]})",
  };
  for (const char* text : bad) {
    auto s = parseSeccompProfile(text);
    ASSERT_FALSE(s) << "accepted: " << text;
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument) << text << ": " << s.error().message;
  }
  auto notify = parseSeccompProfile(R"({"defaultAction": "SCMP_ACT_NOTIFY"})");
  ASSERT_FALSE(notify);
  EXPECT_EQ(notify.error().code, Errc::kUnsupported);
  auto listener =
      parseSeccompProfile(R"({"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/x.sock"})");
  ASSERT_FALSE(listener);
  EXPECT_EQ(listener.error().code, Errc::kUnsupported);

  std::string huge =
      R"({"defaultAction": "SCMP_ACT_ERRNO", "comment": ")" + std::string(5u << 20, 'x') + "\"}";
  EXPECT_FALSE(parseSeccompProfile(huge));
  std::string deep(100000, '[');
  EXPECT_FALSE(parseSeccompProfile(deep));
  std::string many = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [)";
  for (int i = 0; i < 5000; ++i) many += std::string(i ? "," : "") + "{}";
  EXPECT_FALSE(parseSeccompProfile(many + "]}"));
}

// A real profile in the same format, when this machine has one (containers/common ships one for
// podman): every rule must read.
TEST(SeccompProfileFile, ReadsThePodmanProfileWhenInstalled) {
  const char* path = "/usr/share/containers/seccomp.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not installed";
  auto text = readFile(path);
  ASSERT_TRUE(text);
  auto s = parseSeccompProfile(*text);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->default_errno_ret, 38u);
  EXPECT_TRUE(allowedOutright(*s, "read"));
  EXPECT_FALSE(allowedAtAll(*s, "kexec_load"));
}

}  // namespace
}  // namespace hull::oci
