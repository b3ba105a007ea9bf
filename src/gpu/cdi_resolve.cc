// Qualified CDI device names -> one runtime spec edit, the way the CDI package applies them: a
// spec's own containerEdits once for the first of its devices used, then each device's edits.
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "gpu/cdi.h"

namespace hull::gpu {
namespace {

struct Found {
  const CdiSpec* spec = nullptr;
  const CdiDevice* device = nullptr;
};

// Qualified name -> definition; a later spec (a later directory) replaces an earlier one.
std::map<std::string, Found> indexDevices(const CdiRegistry& registry) {
  std::map<std::string, Found> index;
  for (const CdiSpec& spec : registry.specs) {
    for (const CdiDevice& dev : spec.devices) index[spec.kind + "=" + dev.name] = {&spec, &dev};
  }
  return index;
}

Error notFound(const CdiRegistry& registry, const std::map<std::string, Found>& index,
               const std::string& name) {
  std::string kind = name.substr(0, name.find('='));
  // A broken file that declares this kind is the likely reason: say what is wrong with it.
  for (size_t i = 0; i < registry.errors.size() && i < registry.error_kinds.size(); ++i) {
    if (registry.error_kinds[i] == kind) {
      return Error{Errc::kInvalidArgument,
                   "CDI device " + name + " unusable: " + registry.errors[i].message};
    }
  }
  std::string msg = "CDI device " + name + " not found";
  constexpr size_t kShown = 8;
  std::string known;
  size_t count = 0;
  for (const auto& [qualified, found] : index) {
    if (count++ < kShown) known += (known.empty() ? "" : ", ") + qualified;
  }
  if (count > kShown) known += ", ... (" + std::to_string(count - kShown) + " more)";
  msg += known.empty() ? " (no CDI specs found)" : " (known: " + known + ")";
  if (!registry.errors.empty()) msg += "; unreadable spec: " + registry.errors.front().message;
  return Error{Errc::kNotFound, std::move(msg)};
}

// Type and numbers from the spec, or from the host node where the spec leaves them out (as the
// CDI package does: a b/c node without a major is looked up).
Result<oci::Device> toOciDevice(const CdiDeviceNode& n, const StatNode& stat) {
  oci::Device d;
  d.path = n.path;
  d.type = n.type;
  d.major = n.major.value_or(0);
  d.minor = n.minor.value_or(0);
  d.file_mode = n.file_mode;
  d.uid = n.uid;
  d.gid = n.gid;
  bool complete = !n.type.empty() && (n.type == "p" || n.type == "u" || n.major.has_value());
  if (complete) return d;
  const std::string& host = n.host_path.empty() ? n.path : n.host_path;
  Result<HostNode> node = stat(host);
  if (!node) return fail(node.error().wrap("CDI device node " + n.path));
  if (!n.type.empty() && n.type != node->type) {
    return fail(Errc::kInvalidArgument, "CDI device node " + n.path + ": spec says type " + n.type +
                                            " but " + host + " is type " + node->type);
  }
  d.type = node->type;
  if (!n.major) d.major = node->major;
  if (!n.minor) d.minor = node->minor;
  if (!d.file_mode) d.file_mode = node->mode;
  return d;
}

Result<void> addEdits(oci::SpecEdit& out, const CdiEdits& e, const StatNode& stat) {
  for (const std::string& env : e.env) out.env.push_back(env);
  for (const CdiDeviceNode& n : e.device_nodes) {
    Result<oci::Device> dev = toOciDevice(n, stat);
    if (!dev) return fail(dev.error());
    if (dev->type == "c" || dev->type == "b") {
      std::string access = n.permissions.empty() ? "rwm" : n.permissions;
      if (access == "none") access.clear();
      out.device_rules.push_back(
          oci::DeviceCgroupRule{true, dev->type, dev->major, dev->minor, access});
    }
    out.devices.push_back(*dev);
  }
  for (const CdiMount& m : e.mounts) {
    out.mounts.push_back(
        oci::Mount{m.container_path, m.type.empty() ? "bind" : m.type, m.host_path, m.options});
  }
  for (const CdiHook& h : e.hooks) {
    oci::Hook hook{h.path, h.args, h.env, h.timeout};
    oci::Hooks& hk = out.hooks;
    if (h.hook_name == "prestart") hk.prestart.push_back(std::move(hook));
    if (h.hook_name == "createRuntime") hk.create_runtime.push_back(std::move(hook));
    if (h.hook_name == "createContainer") hk.create_container.push_back(std::move(hook));
    if (h.hook_name == "startContainer") hk.start_container.push_back(std::move(hook));
    if (h.hook_name == "poststart") hk.poststart.push_back(std::move(hook));
    if (h.hook_name == "poststop") hk.poststop.push_back(std::move(hook));
  }
  for (uint32_t gid : e.additional_gids) {
    // Group 0 is never added, as in the CDI package: a device must not make a process root's.
    if (gid != 0) out.additional_gids.push_back(gid);
  }
  return {};
}

}  // namespace

Result<HostNode> statHostNode(const std::string& host_path) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) return failErrno("stat " + host_path);
  HostNode node;
  if (S_ISCHR(st.st_mode)) {
    node.type = "c";
  } else if (S_ISBLK(st.st_mode)) {
    node.type = "b";
  } else if (S_ISFIFO(st.st_mode)) {
    node.type = "p";
  } else {
    return fail(Errc::kInvalidArgument, host_path + " is not a device node");
  }
  node.major = gnu_dev_major(st.st_rdev);
  node.minor = gnu_dev_minor(st.st_rdev);
  node.mode = st.st_mode & 07777;
  return node;
}

Result<oci::SpecEdit> resolveCdiDevices(const CdiRegistry& registry,
                                        const std::vector<std::string>& names,
                                        const StatNode& stat) {
  std::map<std::string, Found> index = indexDevices(registry);
  oci::SpecEdit edit;
  std::set<const CdiSpec*> specs_used;
  std::set<std::string> names_used;
  for (const std::string& name : names) {
    if (!isCdiDeviceName(name)) {
      return fail(Errc::kInvalidArgument,
                  "\"" + name + "\" is not a CDI device name (want vendor.com/class=name)");
    }
    if (!names_used.insert(name).second) continue;
    auto it = index.find(name);
    if (it == index.end()) return fail(notFound(registry, index, name));
    const Found& found = it->second;
    if (specs_used.insert(found.spec).second) {
      HULL_TRY(addEdits(edit, found.spec->edits, stat));
    }
    HULL_TRY(addEdits(edit, found.device->edits, stat));
  }
  return edit;
}

}  // namespace hull::gpu
