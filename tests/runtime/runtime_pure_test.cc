// Unit tests of the runtime's pure parts: signal names, mount options, seccomp translation,
// /proc/PID/stat parsing, state JSON, ids, rlimit and capability names.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <seccomp.h>

#include "runtime/capabilities.h"
#include "runtime/channel.h"
#include "runtime/mount_options.h"
#include "runtime/process_setup.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"
#include "runtime/signals.h"
#include "runtime/state_store.h"

namespace hull::runtime {
namespace {

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(*parseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*parseSignal("SIGKILL"), SIGKILL);
  EXPECT_EQ(*parseSignal("sigterm"), SIGTERM);
  EXPECT_EQ(*parseSignal("term"), SIGTERM);
  EXPECT_EQ(*parseSignal("9"), 9);
  EXPECT_EQ(*parseSignal("15"), 15);
  EXPECT_EQ(*parseSignal("HUP"), SIGHUP);
  EXPECT_EQ(*parseSignal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(*parseSignal("RTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(*parseSignal("SIGRTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(*parseSignal("IOT"), SIGABRT);
  for (const char* bad : {"", "0", "-9", "65", "NOPE", "SIG", "9x", "RTMIN+99", "RTMIN-1"}) {
    auto r = parseSignal(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
  EXPECT_EQ(signalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(signalName(SIGRTMIN + 2), "SIGRTMIN+2");
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    if (sig == 32 || sig == 33) continue;
    EXPECT_EQ(*parseSignal(signalName(sig)), sig) << sig;
  }
}

TEST(MountOptions, FlagsAndData) {
  MountPlan p = parseMountOptions({"nosuid", "strictatime", "mode=755", "size=65536k"});
  EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(p.data, "mode=755,size=65536k");
  EXPECT_FALSE(p.bind);
  EXPECT_EQ(p.propagation, 0u);

  p = parseMountOptions({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(p.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");

  p = parseMountOptions({"ro", "rw"});
  EXPECT_EQ(p.flags & MS_RDONLY, 0u);
  p = parseMountOptions({"rw", "ro", "nodev", "dev", "noatime"});
  EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOATIME));
}

TEST(MountOptions, BindMounts) {
  oci::Mount m{.destination = "/data",
               .type = "bind",
               .source = "/srv",
               .options = {"rbind", "ro", "nosuid", "rprivate"}};
  MountPlan p = planMount(m);
  EXPECT_TRUE(p.bind);
  EXPECT_EQ(p.flags & (MS_BIND | MS_REC), static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(bindRemountFlags(p), static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(p.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_TRUE(p.data.empty());

  // Docker writes "type": "bind" with "bind" in options; an empty type with "bind" works too.
  m = oci::Mount{.destination = "/x", .type = "", .source = "/y", .options = {"bind"}};
  p = planMount(m);
  EXPECT_TRUE(p.bind);
  EXPECT_EQ(p.flags & MS_REC, 0u);
  EXPECT_EQ(bindRemountFlags(p), 0u);

  m = oci::Mount{.destination = "/x", .type = "bind", .source = "/y", .options = {}};
  EXPECT_TRUE(planMount(m).bind);
}

TEST(MountOptions, RootPropagation) {
  EXPECT_EQ(*rootPropagation(""), static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(*rootPropagation("rslave"), static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(*rootPropagation("shared"), static_cast<unsigned long>(MS_SHARED));
  EXPECT_FALSE(rootPropagation("sideways"));
}

TEST(Seccomp, Actions) {
  EXPECT_EQ(*seccompAction("SCMP_ACT_ALLOW", {}), SCMP_ACT_ALLOW);
  EXPECT_EQ(*seccompAction("SCMP_ACT_ERRNO", {}), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(*seccompAction("SCMP_ACT_ERRNO", 38u), SCMP_ACT_ERRNO(38));
  EXPECT_EQ(*seccompAction("SCMP_ACT_KILL", {}), SCMP_ACT_KILL_THREAD);
  EXPECT_EQ(*seccompAction("SCMP_ACT_KILL_PROCESS", {}), SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(*seccompAction("SCMP_ACT_TRAP", {}), SCMP_ACT_TRAP);
  EXPECT_EQ(*seccompAction("SCMP_ACT_LOG", {}), SCMP_ACT_LOG);
  EXPECT_EQ(*seccompAction("SCMP_ACT_TRACE", 7u), SCMP_ACT_TRACE(7));
  EXPECT_EQ(seccompAction("SCMP_ACT_NOTIFY", {}).error().code, Errc::kUnsupported);
  EXPECT_EQ(seccompAction("ALLOW", {}).error().code, Errc::kInvalidArgument);
}

TEST(Seccomp, OperatorsAndArchitectures) {
  EXPECT_EQ(*seccompOperator("SCMP_CMP_MASKED_EQ"), SCMP_CMP_MASKED_EQ);
  EXPECT_EQ(*seccompOperator("SCMP_CMP_NE"), SCMP_CMP_NE);
  EXPECT_FALSE(seccompOperator("SCMP_CMP_LIKE"));
  EXPECT_EQ(*seccompArch("SCMP_ARCH_X86_64"), SCMP_ARCH_X86_64);
  EXPECT_EQ(*seccompArch("SCMP_ARCH_X86"), SCMP_ARCH_X86);
  EXPECT_EQ(*seccompArch("SCMP_ARCH_AARCH64"), SCMP_ARCH_AARCH64);
  EXPECT_FALSE(seccompArch("x86_64"));
  EXPECT_FALSE(seccompArch("SCMP_ARCH_PDP11"));
}

TEST(Seccomp, FilterBuilds) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  s.syscalls = {
      {.names = {"read", "write", "exit_group", "no_such_syscall"},
       .action = "SCMP_ACT_ALLOW",
       .errno_ret = {},
       .args = {}},
      {.names = {"personality"},
       .action = "SCMP_ACT_ALLOW",
       .errno_ret = {},
       .args = {{.index = 0, .value = 0, .value_two = 0, .op = "SCMP_CMP_EQ"},
                {.index = 0, .value = 8, .value_two = 0, .op = "SCMP_CMP_EQ"}}},
      {.names = {"clone"},
       .action = "SCMP_ACT_ALLOW",
       .errno_ret = {},
       .args = {{.index = 0, .value = 0x7e020000, .value_two = 0, .op = "SCMP_CMP_MASKED_EQ"}}},
      {.names = {"mkdir"}, .action = "SCMP_ACT_ERRNO", .errno_ret = {}, .args = {}},  // = default
      {.names = {"clone3"}, .action = "SCMP_ACT_ERRNO", .errno_ret = 38u, .args = {}},
  };
  auto f = SeccompFilter::build(s, true);
  ASSERT_TRUE(f) << f.error().message;
  auto size = f->programSize();
  ASSERT_TRUE(size) << size.error().message;
  EXPECT_GT(*size, 10u);

  s.syscalls[1].args[0].op = "SCMP_CMP_BOGUS";
  EXPECT_FALSE(SeccompFilter::build(s, true));
  s.syscalls[1].args[0].op = "SCMP_CMP_EQ";
  s.syscalls[1].args[0].index = 6;
  EXPECT_FALSE(SeccompFilter::build(s, true));
}

TEST(ProcessStat, Parse) {
  auto st = parseProcessStat(
      "1234 (a) b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->start_time, 987654u);
  EXPECT_FALSE(parseProcessStat("garbage"));
  EXPECT_FALSE(parseProcessStat("1 (x) S 1 2"));
  auto self = readProcessStat(getpid());
  ASSERT_TRUE(self);
  EXPECT_GT(self->start_time, 0u);
}

TEST(StateJson, RoundTripAndOciShape) {
  StoredState s{.id = "c1",
                .pid = 42,
                .pid_start_time = 99,
                .bundle = "/b",
                .rootfs = "/b/rootfs",
                .created = nowRfc3339(),
                .cgroup_path = "/hull/c1",
                .owner = "",
                .annotations = {{"k", "v"}},
                .late_hooks = false};
  auto back = storedStateFromJson(toJson(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->pid_start_time, 99u);
  EXPECT_EQ(back->annotations.at("k"), "v");
  EXPECT_EQ(back->late_hooks, false);
  // The state of an older hull says nothing of hooks: unknown, so start and delete look.
  Json old = toJson(s);
  old.erase("lateHooks");
  EXPECT_EQ(storedStateFromJson(old)->late_hooks, std::nullopt);
  old["lateHooks"] = "yes";
  EXPECT_FALSE(storedStateFromJson(old));
  EXPECT_FALSE(storedStateFromJson(Json{{"id", 1}}));

  State st;
  st.id = "c1";
  st.status = Status::kRunning;
  st.pid = 42;
  st.bundle = "/b";
  Json j = toJson(st);
  EXPECT_EQ(j["ociVersion"], "1.0.2");
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["bundle"], "/b");
  EXPECT_EQ(statusName(Status::kCreated), "created");
  EXPECT_EQ(statusName(Status::kStopped), "stopped");
  // A pid whose start time does not match is not the container.
  s.pid = getpid();
  s.pid_start_time = 1;
  EXPECT_FALSE(initAlive(s));
  s.pid_start_time = readProcessStat(getpid())->start_time;
  EXPECT_TRUE(initAlive(s));
}

TEST(Ids, RuncRules) {
  for (const char* ok : {"a", "abc-1.2_3+x", "A"}) EXPECT_TRUE(validateId(ok)) << ok;
  for (const char* bad : {"", ".", "..", "a/b", "a b", "../x", "x\n"}) {
    EXPECT_FALSE(validateId(bad)) << bad;
  }
}

TEST(Rlimits, Names) {
  EXPECT_EQ(*rlimitResource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(*rlimitResource("RLIMIT_NPROC"), RLIMIT_NPROC);
  EXPECT_FALSE(rlimitResource("NOFILE"));
}

TEST(Capabilities, Names) {
  EXPECT_EQ(*capabilityNumber("CAP_CHOWN"), 0);
  EXPECT_EQ(*capabilityNumber("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(*capabilityNumber("cap_kill"), 5);
  EXPECT_EQ(*capabilityNumber("CAP_FROM_THE_FUTURE"), -1);  // left out, as runc does
  auto plan = planCapabilities(oci::Capabilities{.bounding = {"CAP_KILL", "CAP_CHOWN"},
                                                 .effective = {"CAP_KILL"},
                                                 .inheritable = {},
                                                 .permitted = {"CAP_KILL"},
                                                 .ambient = {}});
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->bounding, (std::vector<int>{5, 0}));
  auto known = knownCapabilities();
  EXPECT_NE(std::find(known.begin(), known.end(), "CAP_SYS_ADMIN"), known.end());
}

TEST(Channel, ErrorsKeepTheirCode) {
  Error e = errorFromMessage("error 1 exec: \"x\": executable file not found in $PATH");
  EXPECT_EQ(e.code, Errc::kNotFound);
  EXPECT_EQ(execFailureStatus(e), 127);
  e = errorFromMessage("error 5 exec: \"x\": permission denied");
  EXPECT_EQ(execFailureStatus(e), 126);
  e = errorFromMessage("error 99 nonsense");
  EXPECT_EQ(e.code, Errc::kInternal);
  EXPECT_EQ(errorFromMessage("hello").code, Errc::kInternal);
  EXPECT_FALSE(execFailureStatus(Error{Errc::kNotFound, "rootfs missing"}));
}

TEST(DefaultSpec, LooksLikeRuncSpec) {
  oci::RuntimeSpec s = defaultSpec();
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s.root.path, "rootfs");
  auto back = oci::parseRuntimeSpec(oci::serialize(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  Json f = features();
  EXPECT_EQ(f["linux"]["seccomp"]["enabled"], true);
  EXPECT_FALSE(f["linux"]["capabilities"].empty());
}

}  // namespace
}  // namespace hull::runtime

namespace hull::runtime {
namespace {

// The translated filter really filters: load it in a child and watch mkdir fail with the
// errno the spec asked for, while everything else still works.
TEST(Seccomp, LoadedFilterReturnsTheSpecErrno) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls = {
      {.names = {"mkdir", "mkdirat"}, .action = "SCMP_ACT_ERRNO", .errno_ret = 13u, .args = {}},
      {.names = {"getpriority"},
       .action = "SCMP_ACT_ERRNO",
       .errno_ret = {},
       .args = {{.index = 0, .value = 1, .value_two = 0, .op = "SCMP_CMP_EQ"}}}};
  auto f = SeccompFilter::build(s, true);
  ASSERT_TRUE(f) << f.error().message;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!f->load()) _exit(10);
    if (mkdir("/tmp/hull-seccomp-test-never", 0700) == 0 || errno != EACCES) _exit(11);
    errno = 0;
    getpriority(PRIO_PROCESS, 0);  // which=0: allowed
    if (errno != 0) _exit(12);
    errno = 0;
    getpriority(PRIO_PGRP, 0);  // which=1: EPERM by default errno
    if (errno != EPERM) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace hull::runtime
