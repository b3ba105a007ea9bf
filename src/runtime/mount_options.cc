#include "runtime/mount_options.h"

#include <sys/mount.h>

#include <string_view>
#include <utility>

namespace hull::runtime {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

constexpr std::pair<std::string_view, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options that only tell other tools something (runc and crun ignore them too).
constexpr std::string_view kIgnored[] = {"tmpcopyup", "notmpcopyup", "copy-symlink", "z",
                                         "Z",         "U",           "rro",          "rrw"};

}  // namespace

MountPlan parseMountOptions(const std::vector<std::string>& options) {
  MountPlan plan;
  for (const auto& option : options) {
    bool known = false;
    for (const auto& f : kFlagOptions) {
      if (f.name != option) continue;
      known = true;
      if (f.clear) {
        plan.flags &= ~f.flag;
      } else {
        plan.flags |= f.flag;
      }
    }
    for (const auto& [name, flag] : kPropagation) {
      if (name == option) {
        known = true;
        plan.propagation = flag;
      }
    }
    for (auto ignored : kIgnored) known = known || ignored == option;
    if (known) continue;
    if (!plan.data.empty()) plan.data += ',';
    plan.data += option;
  }
  plan.bind = (plan.flags & MS_BIND) != 0;
  return plan;
}

MountPlan planMount(const oci::Mount& mount) {
  MountPlan plan = parseMountOptions(mount.options);
  if (mount.type == "bind") {
    plan.bind = true;
    plan.flags |= MS_BIND;
  }
  if (plan.bind) plan.data.clear();  // a bind mount takes no file-system data
  return plan;
}

unsigned long bindRemountFlags(const MountPlan& plan) {
  return plan.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
}

Result<unsigned long> rootPropagation(const std::string& name) {
  if (name.empty()) return static_cast<unsigned long>(MS_PRIVATE | MS_REC);
  for (const auto& [n, flag] : kPropagation) {
    if (n == name) return flag;
  }
  return fail(Errc::kInvalidArgument, "unknown rootfsPropagation \"" + name + "\"");
}

}  // namespace hull::runtime
