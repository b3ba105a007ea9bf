#include "runtime/rootfs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/fs.h"
#include "runtime/mount_options.h"

namespace hull::runtime {
namespace {

std::string fdPath(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) out.emplace_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

Result<void> doMount(const char* source, const std::string& target, const char* type,
                     unsigned long flags, const std::string& data, const std::string& what) {
  if (::mount(source, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    return failErrno("mount " + what);
  }
  return {};
}

// Flags a bind remount must repeat, or the kernel clears them (and refuses to for locked mounts).
unsigned long currentFlags(int fd) {
  struct statvfs st {};
  if (fstatvfs(fd, &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  return flags;
}

// Remounts the mount now on top of `path` (inside root) with more flags.
Result<void> remountBind(int root, const std::string& path, unsigned long flags) {
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openInRoot(root, path, O_PATH));
  unsigned long all = currentFlags(fd.get()) | flags | MS_BIND | MS_REMOUNT;
  return doMount(nullptr, fdPath(fd.get()), nullptr, all, {}, "remount of " + path);
}

// The mount target: an existing path, else a directory, or an empty file when a file is bound.
Result<UniqueFd> prepareTarget(int root, const std::string& dest, bool file) {
  auto fd = openInRoot(root, dest, O_PATH);
  if (fd || fd.error().code != Errc::kNotFound) return fd;
  if (!file) return makeDirsInRoot(root, dest);
  std::filesystem::path p(dest);
  HULL_ASSIGN_OR_RETURN(UniqueFd parent, makeDirsInRoot(root, p.parent_path().string()));
  UniqueFd created(::openat(parent.get(), p.filename().c_str(),
                            O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!created && errno != EEXIST) return failErrno("create mount target " + dest);
  return openInRoot(root, dest, O_PATH);
}

Result<void> mountCgroup(int root, const oci::Mount& m, const MountPlan& plan,
                         const RootfsPlan& rp) {
  const CgroupSystem& sys = rp.cgroups;
  unsigned long flags = plan.flags & ~MS_RDONLY;
  HULL_ASSIGN_OR_RETURN(UniqueFd target, prepareTarget(root, m.destination, false));
  if (sys.layout == CgroupLayout::kUnified && rp.cgroup_namespace) {
    return doMount("cgroup2", fdPath(target.get()), "cgroup2", plan.flags, {}, m.destination);
  }
  std::string rel = rp.cgroup_path.substr(rp.cgroup_path.find_first_not_of('/'));
  if (sys.layout == CgroupLayout::kUnified) {
    std::string source = (sys.unified / rel).string();
    HULL_TRY(doMount(source.c_str(), fdPath(target.get()), nullptr, MS_BIND | MS_REC, {},
                     m.destination));
    return remountBind(root, m.destination, plan.flags);
  }
  // v1 and hybrid: a tmpfs holding one bind of the container's cgroup per hierarchy.
  HULL_TRY(doMount("tmpfs", fdPath(target.get()), "tmpfs", flags, "mode=755", m.destination));
  HULL_ASSIGN_OR_RETURN(UniqueFd dir, openInRoot(root, m.destination, O_PATH | O_DIRECTORY));
  for (const auto& hierarchy : sys.hierarchies()) {
    std::string name = hierarchy.filename().string();
    std::string dest = m.destination + "/" + name;
    HULL_ASSIGN_OR_RETURN(UniqueFd sub, makeDirsInRoot(root, dest));
    std::string source = (hierarchy / rel).string();
    HULL_TRY(doMount(source.c_str(), fdPath(sub.get()), nullptr, MS_BIND | MS_REC, {}, dest));
    HULL_TRY(remountBind(root, dest, plan.flags));
    // "cpu,cpuacct" is reachable as "cpu" and "cpuacct" too, as on the host.
    if (name.find(',') != std::string::npos) {
      std::size_t pos = 0;
      while (pos <= name.size()) {
        auto comma = name.find(',', pos);
        if (comma == std::string::npos) comma = name.size();
        std::string alias = name.substr(pos, comma - pos);
        if (::symlinkat(name.c_str(), dir.get(), alias.c_str()) != 0 && errno != EEXIST) {
          return failErrno("symlink " + m.destination + "/" + alias);
        }
        pos = comma + 1;
      }
    }
  }
  if (plan.flags & MS_RDONLY) return remountBind(root, m.destination, plan.flags);
  return {};
}

Result<void> mountOne(int root, const oci::Mount& m, const RootfsPlan& rp) {
  MountPlan plan = planMount(m);
  if (m.type == "cgroup" || m.type == "cgroup2") return mountCgroup(root, m, plan, rp);
  std::string what = m.destination;
  if (plan.bind) {
    struct stat st {};
    if (::stat(m.source.c_str(), &st) != 0) return failErrno("bind mount source " + m.source);
    HULL_ASSIGN_OR_RETURN(UniqueFd target,
                          prepareTarget(root, m.destination, !S_ISDIR(st.st_mode)));
    HULL_TRY(doMount(m.source.c_str(), fdPath(target.get()), nullptr,
                     plan.flags & (MS_BIND | MS_REC), {}, what));
    if (bindRemountFlags(plan) != 0)
      HULL_TRY(remountBind(root, m.destination, bindRemountFlags(plan)));
  } else {
    HULL_ASSIGN_OR_RETURN(UniqueFd target, prepareTarget(root, m.destination, false));
    const char* source = m.source.empty() ? m.type.c_str() : m.source.c_str();
    HULL_TRY(doMount(source, fdPath(target.get()), m.type.c_str(), plan.flags & ~MS_REMOUNT,
                     plan.data, what));
  }
  if (plan.propagation != 0) {
    HULL_ASSIGN_OR_RETURN(UniqueFd top, openInRoot(root, m.destination, O_PATH));
    HULL_TRY(doMount(nullptr, fdPath(top.get()), nullptr, plan.propagation, {}, what));
  }
  return {};
}

struct DefaultDevice {
  const char* name;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                                             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

// mknod, or a bind of the host's node where mknod is not allowed.
Result<void> makeDevice(int root, const std::string& path, mode_t type, unsigned major,
                        unsigned minor, mode_t mode, uid_t uid, gid_t gid) {
  std::filesystem::path p(path);
  HULL_ASSIGN_OR_RETURN(UniqueFd dir, makeDirsInRoot(root, p.parent_path().string()));
  const std::string filename = p.filename().string();
  const char* name = filename.c_str();
  ::unlinkat(dir.get(), name, 0);
  if (::mknodat(dir.get(), name, type | mode, makedev(major, minor)) == 0) {
    if (::fchownat(dir.get(), name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return failErrno("chown " + path);
    }
    return {};
  }
  if (errno != EPERM) return failErrno("mknod " + path);
  UniqueFd file(::openat(dir.get(), name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file) return failErrno("create " + path);
  HULL_ASSIGN_OR_RETURN(UniqueFd target, openInRoot(root, path, O_PATH));
  return doMount(path.c_str(), fdPath(target.get()), nullptr, MS_BIND, {}, path);
}

Result<void> createDevices(int root, const oci::RuntimeSpec& spec) {
  bool dev_mounted = false;
  for (const auto& m : spec.mounts) {
    if (m.destination == "/dev" && !planMount(m).bind) dev_mounted = true;
  }
  if (dev_mounted) {
    for (const auto& d : kDefaultDevices) {
      HULL_TRY(
          makeDevice(root, std::string("/dev/") + d.name, S_IFCHR, d.major, d.minor, 0666, 0, 0));
    }
    HULL_ASSIGN_OR_RETURN(UniqueFd dev, openInRoot(root, "/dev", O_PATH | O_DIRECTORY));
    const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                         {"/proc/self/fd/0", "stdin"},
                                                         {"/proc/self/fd/1", "stdout"},
                                                         {"/proc/self/fd/2", "stderr"},
                                                         {"pts/ptmx", "ptmx"}};
    for (const auto& [target, name] : links) {
      if (std::string_view(name) == "ptmx") ::unlinkat(dev.get(), name, 0);
      if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) {
        return failErrno(std::string("symlink /dev/") + name);
      }
    }
  }
  if (!spec.linux) return {};
  for (const auto& d : spec.linux->devices) {
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    mode_t mode = d.file_mode.value_or(0666) & 07777;
    HULL_TRY(makeDevice(root, d.path, type, static_cast<unsigned>(d.major),
                        static_cast<unsigned>(d.minor), mode, d.uid.value_or(0),
                        d.gid.value_or(0)));
  }
  return {};
}

Result<void> pivotInto(const std::filesystem::path& rootfs, bool no_pivot) {
  UniqueFd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!new_root) return failErrno("open rootfs " + rootfs.string());
  if (::fchdir(new_root.get()) != 0) return failErrno("chdir to rootfs");
  if (no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return failErrno("move rootfs to /");
    if (::chroot(".") != 0) return failErrno("chroot");
    if (::chdir("/") != 0) return failErrno("chdir /");
    return {};
  }
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) return failErrno("open /");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return failErrno("pivot_root");
  // The old root is now stacked under ".": make it private so its unmount cannot reach the
  // host, then detach it.
  if (::fchdir(old_root.get()) != 0) return failErrno("chdir to the old root");
  if (::mount(nullptr, ".", nullptr, MS_PRIVATE | MS_REC, nullptr) != 0) {
    return failErrno("make the old root private");
  }
  if (::umount2(".", MNT_DETACH) != 0) return failErrno("unmount the old root");
  if (::chdir("/") != 0) return failErrno("chdir /");
  return {};
}

Result<void> maskAndProtect(const oci::Linux& linux) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return failErrno("open /");
  for (const auto& path : linux.readonly_paths) {
    auto fd = openInRoot(root.get(), path, O_PATH);
    if (!fd && fd.error().code == Errc::kNotFound) continue;
    if (!fd) return fail(fd.error());
    HULL_TRY(doMount(fdPath(fd->get()).c_str(), fdPath(fd->get()), nullptr, MS_BIND | MS_REC, {},
                     "read-only path " + path));
    HULL_TRY(remountBind(root.get(), path, MS_RDONLY));
  }
  for (const auto& path : linux.masked_paths) {
    auto fd = openInRoot(root.get(), path, O_PATH);
    if (!fd && fd.error().code == Errc::kNotFound) continue;
    if (!fd) return fail(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return failErrno("stat " + path);
    if (S_ISDIR(st.st_mode)) {
      HULL_TRY(doMount("tmpfs", fdPath(fd->get()), "tmpfs", MS_RDONLY, {}, "masked path " + path));
    } else {
      HULL_TRY(
          doMount("/dev/null", fdPath(fd->get()), nullptr, MS_BIND, {}, "masked path " + path));
    }
  }
  return {};
}

Result<void> writeSysctls(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    if (key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
      return fail(Errc::kInvalidArgument, "sysctl \"" + key + "\": not a valid name");
    }
    std::string path = "/proc/sys/" + key;
    for (std::size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return failErrno("sysctl " + key);
    if (::write(fd.get(), value.data(), value.size()) < 0) return failErrno("sysctl " + key);
  }
  return {};
}

}  // namespace

Result<UniqueFd> openInRoot(int root, const std::string& path, int flags) {
  int fd = openat2Fd(root, path, flags, RESOLVE_IN_ROOT);
  if (fd < 0) {
    int err = errno;
    auto e = failErrno("open " + path + " in the rootfs", err);
    if (err == ENOENT) e.value().code = Errc::kNotFound;
    return e;
  }
  return UniqueFd(static_cast<int>(fd));
}

namespace {

Result<UniqueFd> makeDirsInRootDepth(int root, const std::string& path, int depth) {
  if (depth > 40) return fail(Errc::kInvalidArgument, "too many symlinks in " + path);
  HULL_ASSIGN_OR_RETURN(UniqueFd cur, openInRoot(root, "/", O_PATH | O_DIRECTORY));
  std::string prefix;
  for (const auto& comp : components(path)) {
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + comp;
    auto next = openInRoot(root, prefix, O_PATH | O_DIRECTORY);
    if (!next && next.error().code == Errc::kNotFound) {
      if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) {
        return failErrno("mkdir " + prefix + " in the rootfs");
      }
      next = openInRoot(root, prefix, O_PATH | O_DIRECTORY);
      // A dangling symlink: make its target, read as a path inside the rootfs.
      char link[4096];
      ssize_t n;
      if (!next && (n = ::readlinkat(cur.get(), comp.c_str(), link, sizeof link - 1)) > 0) {
        std::string target(link, static_cast<std::size_t>(n));
        if (!target.starts_with("/")) target = parent + "/" + target;
        HULL_TRY(makeDirsInRootDepth(root, target, depth + 1));
        next = openInRoot(root, prefix, O_PATH | O_DIRECTORY);
      }
    }
    if (!next) return fail(next.error());
    cur = std::move(*next);
  }
  return cur;
}

}  // namespace

Result<UniqueFd> makeDirsInRoot(int root, const std::string& path) {
  return makeDirsInRootDepth(root, path, 0);
}

Result<void> setupRootfs(const RootfsPlan& plan) {
  const oci::RuntimeSpec& spec = *plan.spec;
  std::string propagation_name = spec.linux ? spec.linux->rootfs_propagation : "";
  HULL_ASSIGN_OR_RETURN(unsigned long propagation, rootPropagation(propagation_name));
  // pivot_root refuses shared mounts: stay private until the new root is in place.
  unsigned long first = (propagation & MS_SHARED) ? (MS_PRIVATE | MS_REC) : propagation;
  if (::mount(nullptr, "/", nullptr, first, nullptr) != 0) return failErrno("set / propagation");
  std::string rootfs = plan.rootfs.string();
  HULL_TRY(doMount(rootfs.c_str(), rootfs, nullptr, MS_BIND | MS_REC, {}, "rootfs onto itself"));
  {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return failErrno("open rootfs " + rootfs);
    for (const auto& m : spec.mounts) {
      auto r = mountOne(root.get(), m, plan);
      if (!r) return fail(r.error().wrap("mount " + m.destination));
    }
    HULL_TRY(createDevices(root.get(), spec));
  }
  if (plan.before_pivot) HULL_TRY(plan.before_pivot());
  HULL_TRY(pivotInto(plan.rootfs, plan.no_pivot));
  if (propagation & MS_SHARED) {
    if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0) {
      return failErrno("set / propagation");
    }
  }
  if (spec.linux) {
    // Sysctls first: /proc/sys is usually among the read-only paths.
    HULL_TRY(writeSysctls(spec.linux->sysctl));
    HULL_TRY(maskAndProtect(*spec.linux));
  }
  if (spec.root.readonly) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return failErrno("open /");
    HULL_TRY(remountBind(root.get(), "/", MS_RDONLY));
  }
  return {};
}

Result<void> bindConsole(const std::string& slave_path) {
  UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dev) return failErrno("open /dev");
  UniqueFd file(::openat(dev.get(), "console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file && errno != EEXIST) return failErrno("create /dev/console");
  file.reset();
  if (::mount(slave_path.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) != 0) {
    return failErrno("bind " + slave_path + " over /dev/console");
  }
  return {};
}

}  // namespace hull::runtime
