// --device with host paths, Docker's way: SRC[:DST][:PERMS] becomes the node in linux.devices
// (type and numbers from the host node, its mode and owner) and an allow rule for the device
// cgroup with PERMS (default rwm). A directory adds every node under it. CDI names are not
// host paths: engine/gpu.cc resolves them.
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor

#include <algorithm>

#include <fmt/format.h>

#include "engine/run_spec_internal.h"
#include "gpu/cdi.h"

namespace hull::engine {
namespace detail {
namespace {

struct DeviceFlag {
  std::string source, destination, permissions = "rwm";
};

// "r", "rw", "rwm", "mr": each of r, w, m at most once.
bool validPermissions(std::string_view p) {
  if (p.empty() || p.size() > 3) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != 'r' && p[i] != 'w' && p[i] != 'm') return false;
    if (p.find(p[i], i + 1) != std::string_view::npos) return false;
  }
  return true;
}

Result<DeviceFlag> parseDeviceFlag(std::string_view value) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid --device \"{}\": {}", value, why));
  };
  std::vector<std::string> parts;
  for (std::string_view rest = value;;) {
    std::size_t colon = rest.find(':');
    parts.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (parts.size() > 3) return bad("expected HOST-PATH[:CONTAINER-PATH][:PERMISSIONS]");
  DeviceFlag d;
  d.source = parts[0];
  if (parts.size() == 3) {
    if (!validPermissions(parts[2])) return bad("permissions must be a combination of r, w and m");
    d.permissions = parts[2];
    d.destination = parts[1];
  } else if (parts.size() == 2) {
    if (validPermissions(parts[1])) {
      d.permissions = parts[1];
    } else {
      d.destination = parts[1];
    }
  }
  if (d.destination.empty()) d.destination = d.source;
  if (!d.source.starts_with('/')) {
    return bad("expected an absolute host path, or a CDI device name (vendor.com/class=name)");
  }
  if (!d.destination.starts_with('/')) return bad("the container path must be absolute");
  d.destination = cleanPath(d.destination);
  return d;
}

std::optional<HostDevice> deviceOf(const std::string& path, const struct stat& st) {
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return std::nullopt;
  return HostDevice{.path = path,
                    .type = S_ISBLK(st.st_mode) ? "b" : "c",
                    .major = static_cast<int64_t>(gnu_dev_major(st.st_rdev)),
                    .minor = static_cast<int64_t>(gnu_dev_minor(st.st_rdev)),
                    .mode = static_cast<uint32_t>(st.st_mode & 07777),
                    .uid = st.st_uid,
                    .gid = st.st_gid};
}

}  // namespace

Result<std::vector<HostDevice>> hostDevicesAt(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failErrno(fmt::format("stat {}", path));
  if (auto d = deviceOf(path, st)) return std::vector<HostDevice>{*d};
  if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::kInvalidArgument, fmt::format("{} is not a device node", path));
  }
  std::vector<HostDevice> out;
  std::error_code ec;
  // As Docker: the nodes under the directory, not following symlinks inside it.
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat entry {};
    if (::lstat(it->path().c_str(), &entry) != 0) continue;
    if (auto d = deviceOf(it->path().string(), entry)) out.push_back(*d);
  }
  if (ec) return fail(Errc::kIo, fmt::format("read {}: {}", path, ec.message()));
  if (out.empty()) {
    return fail(Errc::kInvalidArgument, fmt::format("no device nodes under {}", path));
  }
  std::sort(out.begin(), out.end(),
            [](const HostDevice& a, const HostDevice& b) { return a.path < b.path; });
  return out;
}

Result<void> planHostDevices(const RunOptions& options, const HostEnvironment& host,
                             ContainerPlan& plan) {
  oci::Linux& linux = *plan.spec.linux;
  for (const auto& value : options.devices) {
    if (gpu::isCdiDeviceName(value)) continue;
    HULL_ASSIGN_OR_RETURN(DeviceFlag flag, parseDeviceFlag(value));
    if (!host.devices) {
      return fail(Errc::kUnsupported,
                  fmt::format("invalid --device \"{}\": host devices are not available", value));
    }
    auto nodes = host.devices(flag.source);
    if (!nodes) return fail(nodes.error().wrap(fmt::format("invalid --device \"{}\"", value)));
    if (!linux.resources) linux.resources = oci::Resources{};
    for (const HostDevice& node : *nodes) {
      // A node under a directory keeps its place below the destination.
      std::string below =
          node.path.starts_with(flag.source) ? node.path.substr(flag.source.size()) : "";
      std::string path = cleanPath(flag.destination + "/" + below);
      std::erase_if(linux.devices, [&](const oci::Device& d) { return d.path == path; });
      linux.devices.push_back(oci::Device{.path = path,
                                          .type = node.type,
                                          .major = node.major,
                                          .minor = node.minor,
                                          .file_mode = node.mode,
                                          .uid = node.uid,
                                          .gid = node.gid});
      linux.resources->devices.push_back(oci::DeviceCgroupRule{.allow = true,
                                                               .type = node.type,
                                                               .major = node.major,
                                                               .minor = node.minor,
                                                               .access = flag.permissions});
    }
  }
  return {};
}

}  // namespace detail
}  // namespace hull::engine
