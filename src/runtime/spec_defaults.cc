// defaultSpec() (what `hull-runtime spec` writes) and features().
#include <seccomp.h>

#include "runtime/capabilities.h"
#include "runtime/runtime.h"

namespace hull::runtime {
namespace {

// Docker's default capability set: what a container gets unless told otherwise.
const std::vector<std::string> kDockerCapabilities = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

std::vector<oci::Mount> defaultMounts() {
  return {
      {.destination = "/proc", .type = "proc", .source = "proc", .options = {}},
      {.destination = "/dev",
       .type = "tmpfs",
       .source = "tmpfs",
       .options = {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {.destination = "/dev/pts",
       .type = "devpts",
       .source = "devpts",
       .options = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {.destination = "/dev/shm",
       .type = "tmpfs",
       .source = "shm",
       .options = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {.destination = "/dev/mqueue",
       .type = "mqueue",
       .source = "mqueue",
       .options = {"nosuid", "noexec", "nodev"}},
      {.destination = "/sys",
       .type = "sysfs",
       .source = "sysfs",
       .options = {"nosuid", "noexec", "nodev", "ro"}},
      {.destination = "/sys/fs/cgroup",
       .type = "cgroup",
       .source = "cgroup",
       .options = {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };
}

std::vector<oci::Namespace> namespaces(std::initializer_list<const char*> types) {
  std::vector<oci::Namespace> out;
  for (const char* t : types) {
    oci::Namespace ns;
    ns.type = t;
    out.push_back(std::move(ns));
  }
  return out;
}

}  // namespace

oci::RuntimeSpec defaultSpec(bool rootless) {
  oci::RuntimeSpec spec;
  spec.oci_version = "1.0.2";
  oci::Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  p.capabilities = oci::Capabilities{.bounding = kDockerCapabilities,
                                     .effective = kDockerCapabilities,
                                     .inheritable = {},
                                     .permitted = kDockerCapabilities,
                                     .ambient = {}};
  p.rlimits = {{.type = "RLIMIT_NOFILE", .hard = 1024, .soft = 1024}};
  p.no_new_privileges = true;
  spec.process = p;
  spec.root = oci::Root{.path = "rootfs", .readonly = true};
  spec.hostname = "hull";
  spec.mounts = defaultMounts();
  oci::Linux l;
  l.namespaces = namespaces({"pid", "network", "ipc", "uts", "mount", "cgroup"});
  l.resources = oci::Resources{};
  l.resources->devices = {{.allow = false, .type = "", .major = {}, .minor = {}, .access = "rwm"}};
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  if (rootless) {
    // As `runc spec --rootless`: a user namespace mapping the caller, no new network namespace.
    l.namespaces = namespaces({"pid", "ipc", "uts", "mount", "cgroup", "user"});
    l.uid_mappings = {{.container_id = 0, .host_id = 1000, .size = 1}};
    l.gid_mappings = {{.container_id = 0, .host_id = 1000, .size = 1}};
    l.resources.reset();
  }
  spec.linux = l;
  return spec;
}

Json features() {
  Json caps = knownCapabilities();
  return Json{
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async",      "atime",         "bind",    "defaults", "dev",         "diratime", "dirsync",
        "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",   "nomand",
        "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime", "remount",
        "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",       "shared",
        "slave",      "strictatime",   "suid",    "sync",     "unbindable"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "uts"}},
        {"capabilities", caps},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
          {"archs",
           {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_ARM"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations", {{"org.opencontainers.runc.checkpoint.enabled", "false"}}}};
}

}  // namespace hull::runtime
