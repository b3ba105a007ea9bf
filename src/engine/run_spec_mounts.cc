// The mounts of a container: Docker's defaults, the /etc files, --init's binary, and the user's
// -v / --mount / --tmpfs, plus anonymous volumes for the image's VOLUMEs (docs/run-spec.md).
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "base/digest.h"
#include "engine/run_spec_internal.h"
#include "engine/volumes.h"
#include "runtime/cgroup.h"

namespace hull::engine::detail {

namespace {

const std::set<std::string, std::less<>> kPropagations = {"private", "rprivate", "shared",
                                                          "rshared", "slave",    "rslave"};

std::string sizeOption(int64_t bytes) {
  if (bytes % 1024 == 0) return fmt::format("size={}k", bytes / 1024);
  return fmt::format("size={}", bytes);
}

oci::Mount bindMount(std::string destination, std::string source, bool read_only,
                     std::string propagation = "rprivate") {
  std::vector<std::string> options = {"rbind", std::move(propagation)};
  if (read_only) options.emplace_back("ro");
  return oci::Mount{.destination = std::move(destination),
                    .type = "bind",
                    .source = std::move(source),
                    .options = std::move(options)};
}

// What one user mount contributes before the plan is assembled.
struct UserMount {
  oci::Mount mount;
  std::optional<PlannedVolume> volume;  // a named or anonymous volume
  bool create_source = false;           // -v bind whose source is missing
};

Result<std::string> checkDestination(std::string_view dest, std::string_view spec) {
  if (dest.empty() || dest[0] != '/') {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid mount {}: mount path '{}' must be absolute", spec, dest));
  }
  std::string clean = cleanPath(dest);
  if (clean == "/") {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid mount {}: destination can't be '/'", spec));
  }
  return clean;
}

std::string anonymousName(const std::string& container_id, const std::string& destination) {
  // Derived from the (random) container id, so the plan stays a pure function of its inputs.
  Sha256 h;
  h.update("hull anonymous volume\n");
  h.update(container_id);
  h.update("\n");
  h.update(destination);
  return h.finish().hex();
}

Result<UserMount> volumeMount(std::string name, std::string dest, bool read_only, bool no_copy,
                              const std::string& container_id, std::string_view spec) {
  bool anonymous = name.empty();
  if (anonymous) {
    name = anonymousName(container_id, dest);
  } else if (!isValidVolumeName(name)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid mount {}: \"{}\" includes invalid characters for a local "
                            "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
                            "intended to pass a host directory, use absolute path",
                            spec, name));
  }
  UserMount m{.mount = bindMount(dest, "", read_only),
              .volume = PlannedVolume{.name = name,
                                      .destination = dest,
                                      .anonymous = anonymous,
                                      .read_only = read_only,
                                      .no_copy = no_copy,
                                      .mount_index = 0},
              .create_source = false};
  return m;
}

// -v SRC:DST[:MODE] or -v DST. Docker creates a missing bind source; so does hull.
Result<UserMount> parseVolumeFlag(std::string_view spec, const std::string& container_id,
                                  const HostEnvironment& host) {
  std::vector<std::string> parts;
  for (std::string_view rest = spec;;) {
    std::size_t colon = rest.find(':');
    parts.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  std::string quoted = fmt::format("\"{}\"", spec);
  if (parts.empty() || parts.size() > 3 || parts[0].empty()) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid volume specification: {}", quoted));
  }
  if (parts.size() == 1) {
    HULL_ASSIGN_OR_RETURN(std::string dest, checkDestination(parts[0], quoted));
    return volumeMount("", dest, false, false, container_id, quoted);
  }
  HULL_ASSIGN_OR_RETURN(std::string dest, checkDestination(parts[1], quoted));
  bool read_only = false, no_copy = false;
  std::string propagation = "rprivate";
  if (parts.size() == 3) {
    std::vector<std::string> modes = splitList(parts[2], ',');
    if (modes.empty()) {
      return fail(Errc::kInvalidArgument, fmt::format("invalid volume specification: {}", quoted));
    }
    for (const auto& mode : modes) {
      if (mode == "ro")
        read_only = true;
      else if (mode == "rw")
        read_only = false;
      else if (mode == "nocopy")
        no_copy = true;
      else if (mode == "z" || mode == "Z")
        continue;  // SELinux relabel: no SELinux here
      else if (kPropagations.contains(mode))
        propagation = mode;
      else {
        return fail(Errc::kInvalidArgument,
                    fmt::format("invalid mode \"{}\" in volume specification {}", mode, quoted));
      }
    }
  }
  const std::string& source = parts[0];
  if (source[0] != '/') {
    return volumeMount(source, dest, read_only, no_copy, container_id, quoted);
  }
  UserMount m{.mount = bindMount(dest, cleanPath(source), read_only, propagation),
              .volume = std::nullopt,
              .create_source = !host.path_exists(source)};
  return m;
}

struct MountFields {
  std::string type = "volume", source, target, propagation, tmpfs_size, tmpfs_mode;
  bool read_only = false, no_copy = false;
  bool volume_options = false, bind_options = false, tmpfs_options = false;
};

Result<bool> parseBool(std::string_view value, std::string_view key, std::string_view spec) {
  if (value == "true" || value == "1" || value.empty()) return true;
  if (value == "false" || value == "0") return false;
  return fail(Errc::kInvalidArgument,
              fmt::format("invalid --mount {}: invalid value for {}: {}", spec, key, value));
}

Result<MountFields> parseMountFields(std::string_view spec) {
  MountFields f;
  for (const std::string& field : splitList(spec, ',')) {
    std::size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    auto needValue = [&]() -> Result<void> {
      if (eq == std::string::npos || value.empty()) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("invalid --mount {}: {} needs a value", spec, key));
      }
      return {};
    };
    if (key == "type") {
      HULL_TRY(needValue());
      f.type = value;
    } else if (key == "source" || key == "src") {
      HULL_TRY(needValue());
      f.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      HULL_TRY(needValue());
      f.target = value;
    } else if (key == "readonly" || key == "ro") {
      HULL_ASSIGN_OR_RETURN(f.read_only, parseBool(value, key, spec));
    } else if (key == "bind-propagation") {
      HULL_TRY(needValue());
      if (!kPropagations.contains(value)) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("invalid --mount {}: invalid bind-propagation: {}", spec, value));
      }
      f.propagation = value;
      f.bind_options = true;
    } else if (key == "volume-nocopy") {
      HULL_ASSIGN_OR_RETURN(f.no_copy, parseBool(value, key, spec));
      f.volume_options = true;
    } else if (key == "tmpfs-size") {
      HULL_TRY(needValue());
      f.tmpfs_size = value;
      f.tmpfs_options = true;
    } else if (key == "tmpfs-mode") {
      HULL_TRY(needValue());
      f.tmpfs_mode = value;
      f.tmpfs_options = true;
    } else if (key == "consistency") {
      continue;  // macOS file sharing hint; meaningless on Linux, accepted like Docker
    } else {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid --mount {}: unexpected key '{}'", spec, key));
    }
  }
  return f;
}

Result<std::vector<std::string>> tmpfsOptions(const MountFields& f, std::string_view spec) {
  std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
  if (f.read_only) options.emplace_back("ro");
  if (!f.tmpfs_size.empty()) {
    auto bytes = runtime::parseByteSize(f.tmpfs_size);
    if (!bytes || *bytes <= 0) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid --mount {}: invalid tmpfs-size: {}", spec, f.tmpfs_size));
    }
    options.push_back(sizeOption(*bytes));
  }
  if (!f.tmpfs_mode.empty()) {
    if (f.tmpfs_mode.size() > 4 ||
        f.tmpfs_mode.find_first_not_of("01234567") != std::string::npos) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid --mount {}: invalid tmpfs-mode: {}", spec, f.tmpfs_mode));
    }
    options.push_back("mode=" + f.tmpfs_mode);
  }
  return options;
}

// --mount type=bind|volume|tmpfs,...: stricter than -v (a missing bind source is an error).
Result<UserMount> parseMountFlag(std::string_view spec, const std::string& container_id,
                                 const HostEnvironment& host) {
  HULL_ASSIGN_OR_RETURN(MountFields f, parseMountFields(spec));
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid --mount {}: {}", spec, why));
  };
  if (f.target.empty()) return bad("target is required");
  HULL_ASSIGN_OR_RETURN(std::string dest, checkDestination(f.target, spec));
  if (f.type == "bind") {
    if (f.volume_options || f.tmpfs_options)
      return bad("volume-* and tmpfs-* options need their type");
    if (f.source.empty()) return bad("field Source must not be empty for type bind");
    if (f.source[0] != '/')
      return bad(fmt::format("bind source path must be absolute: {}", f.source));
    if (!host.path_exists(f.source)) {
      return fail(
          Errc::kInvalidArgument,
          fmt::format("invalid --mount {}: bind source path does not exist: {}", spec, f.source));
    }
    std::string propagation = f.propagation.empty() ? "rprivate" : f.propagation;
    return UserMount{.mount = bindMount(dest, cleanPath(f.source), f.read_only, propagation),
                     .volume = std::nullopt,
                     .create_source = false};
  }
  if (f.type == "volume") {
    if (f.bind_options || f.tmpfs_options) return bad("bind-* and tmpfs-* options need their type");
    return volumeMount(f.source, dest, f.read_only, f.no_copy, container_id, spec);
  }
  if (f.type == "tmpfs") {
    if (!f.source.empty()) return bad("field Source must not be specified for type tmpfs");
    if (f.bind_options || f.volume_options)
      return bad("bind-* and volume-* options need their type");
    HULL_ASSIGN_OR_RETURN(std::vector<std::string> options, tmpfsOptions(f, spec));
    return UserMount{.mount = oci::Mount{.destination = dest,
                                         .type = "tmpfs",
                                         .source = "tmpfs",
                                         .options = std::move(options)},
                     .volume = std::nullopt,
                     .create_source = false};
  }
  return bad(fmt::format("unsupported type \"{}\" (use bind, volume or tmpfs)", f.type));
}

// --tmpfs DST[:opts]: Docker's defaults nosuid,nodev,noexec, which "suid", "dev", "exec" undo.
Result<UserMount> parseTmpfsFlag(std::string_view spec) {
  std::size_t colon = spec.find(':');
  std::string quoted = fmt::format("--tmpfs \"{}\"", spec);
  HULL_ASSIGN_OR_RETURN(std::string dest, checkDestination(spec.substr(0, colon), quoted));
  std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
  if (colon != std::string_view::npos) {
    for (const std::string& o : splitList(spec.substr(colon + 1), ',')) {
      // "suid", "dev" and "exec" only undo a default; they are not tmpfs options themselves.
      if (o == "suid" || o == "dev" || o == "exec") {
        std::erase(options, "no" + o);
        continue;
      }
      if (o.starts_with("size=")) {
        auto bytes = runtime::parseByteSize(std::string_view(o).substr(5));
        if (!bytes || *bytes <= 0) {
          return fail(Errc::kInvalidArgument, fmt::format("invalid {}: bad size", quoted));
        }
        options.push_back(sizeOption(*bytes));
        continue;
      }
      if (std::find(options.begin(), options.end(), o) == options.end()) options.push_back(o);
    }
  }
  return UserMount{.mount = oci::Mount{.destination = dest,
                                       .type = "tmpfs",
                                       .source = "tmpfs",
                                       .options = std::move(options)},
                   .volume = std::nullopt,
                   .create_source = false};
}

Result<std::vector<UserMount>> userMounts(const oci::ImageConfig& image, const RunOptions& options,
                                          const std::string& container_id,
                                          const HostEnvironment& host) {
  std::vector<UserMount> out;
  for (const auto& v : options.volumes) {
    HULL_ASSIGN_OR_RETURN(UserMount m, parseVolumeFlag(v, container_id, host));
    out.push_back(std::move(m));
  }
  for (const auto& v : options.mounts) {
    HULL_ASSIGN_OR_RETURN(UserMount m, parseMountFlag(v, container_id, host));
    out.push_back(std::move(m));
  }
  for (const auto& v : options.tmpfs) {
    HULL_ASSIGN_OR_RETURN(UserMount m, parseTmpfsFlag(v));
    out.push_back(std::move(m));
  }
  std::set<std::string> seen;
  for (const auto& m : out) {
    if (!seen.insert(m.mount.destination).second) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("Duplicate mount point: {}", m.mount.destination));
    }
  }
  // The image's VOLUMEs not covered by a user mount become anonymous volumes.
  std::vector<std::string> image_volumes = image.config.volumes;
  std::sort(image_volumes.begin(), image_volumes.end());
  for (const auto& v : image_volumes) {
    std::string dest = cleanPath(v);
    if (dest.empty() || dest[0] != '/' || dest == "/" || seen.contains(dest)) continue;
    seen.insert(dest);
    HULL_ASSIGN_OR_RETURN(UserMount m, volumeMount("", dest, false, false, container_id, v));
    out.push_back(std::move(m));
  }
  return out;
}

std::size_t depth(std::string_view path) {
  return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

std::vector<oci::Mount> defaultMounts(int64_t shm_bytes) {
  auto m = [](std::string dest, std::string type, std::string source,
              std::vector<std::string> options) {
    return oci::Mount{.destination = std::move(dest),
                      .type = std::move(type),
                      .source = std::move(source),
                      .options = std::move(options)};
  };
  return {
      m("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      m("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      m("/dev/pts", "devpts", "devpts",
        {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      m("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      m("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      m("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      m("/dev/shm", "tmpfs", "shm",
        {"nosuid", "noexec", "nodev", "mode=1777", sizeOption(shm_bytes)}),
  };
}

Result<void> planMounts(const oci::ImageConfig& image, const RunOptions& options,
                        const std::string& container_id, const HostEnvironment& host,
                        int64_t shm_bytes, ContainerPlan& plan) {
  HULL_ASSIGN_OR_RETURN(std::vector<UserMount> user,
                        userMounts(image, options, container_id, host));
  std::set<std::string> user_dests;
  for (const auto& u : user) user_dests.insert(u.mount.destination);

  // A user mount replaces a default one at the same place (e.g. --tmpfs /dev/shm).
  for (auto& m : defaultMounts(shm_bytes)) {
    if (!user_dests.contains(m.destination)) plan.spec.mounts.push_back(std::move(m));
  }
  std::vector<UserMount> rest;
  for (std::string_view name : kEtcFiles) {
    std::string dest = fmt::format("/etc/{}", name);
    if (user_dests.contains(dest)) continue;
    rest.push_back({.mount = bindMount(dest, std::string(name), false),
                    .volume = std::nullopt,
                    .create_source = false});
  }
  if (options.init) {
    rest.push_back({.mount = bindMount(std::string(kInitPath), host.init_binary, true),
                    .volume = std::nullopt,
                    .create_source = false});
  }
  for (auto& u : user) rest.push_back(std::move(u));
  // Parents before children, as Docker sorts them; otherwise in the order given.
  std::stable_sort(rest.begin(), rest.end(), [](const UserMount& a, const UserMount& b) {
    return depth(a.mount.destination) < depth(b.mount.destination);
  });
  for (auto& u : rest) {
    if (u.volume) {
      u.volume->mount_index = plan.spec.mounts.size();
      plan.volumes.push_back(*u.volume);
    }
    if (u.create_source) plan.create_bind_sources.push_back(u.mount.source);
    plan.spec.mounts.push_back(std::move(u.mount));
  }
  return {};
}

}  // namespace hull::engine::detail
