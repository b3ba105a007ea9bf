#include "gpu/hook.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <set>

#include "base/fs.h"
#include "base/json.h"
#include "base/unique_fd.h"
#include "gpu/elf.h"
#include "oci/runtime_spec.h"

namespace hull::gpu {
namespace {

constexpr std::string_view kConfName = "000-hull-gpu.conf";

// The toolkit's development links: programs dlopen("libcuda.so") although only the soname
// link is part of the driver.
constexpr std::pair<std::string_view, std::string_view> kDevLinks[] = {
    {"libcuda.so", "libcuda.so.1"},
    {"libnvidia-ml.so", "libnvidia-ml.so.1"},
    {"libnvidia-opticalflow.so", "libnvidia-opticalflow.so.1"},
    {"libGLX_indirect.so.0", "libGLX_nvidia.so.0"},
};

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

struct ContainerState {
  int pid = 0;
  std::string rootfs;  // a path in the runtime's mount namespace
};

Result<ContainerState> readState(std::string_view state_json) {
  HULL_ASSIGN_OR_RETURN(Json state, parseJson(state_json, "container state"));
  if (!state.is_object() || !state.contains("bundle") || !state["bundle"].is_string()) {
    return fail(Errc::kInvalidArgument, "container state: no \"bundle\"");
  }
  ContainerState out;
  if (state.contains("pid")) {
    if (!state["pid"].is_number_integer() || state["pid"].get<int64_t>() < 0 ||
        state["pid"].get<int64_t>() > (1 << 22)) {
      return fail(Errc::kInvalidArgument, "container state: bad \"pid\"");
    }
    out.pid = static_cast<int>(state["pid"].get<int64_t>());
  }
  fs::path bundle = state["bundle"].get<std::string>();
  HULL_ASSIGN_OR_RETURN(std::string config, readFile(bundle / "config.json", 16u << 20));
  auto spec = oci::parseRuntimeSpec(config);
  if (!spec) return fail(spec.error().wrap((bundle / "config.json").string()));
  fs::path root = spec->root.path;
  out.rootfs = root.is_absolute() ? root.string() : (bundle / root).string();
  return out;
}

// The host's ldconfig, opened before anything leaves the host's mount namespace. Debian's is
// static-pie, so it runs in any rootfs.
UniqueFd openHostLdconfig(const std::string& chosen) {
  std::vector<std::string> candidates = {"/sbin/ldconfig.real", "/sbin/ldconfig",
                                         "/usr/sbin/ldconfig"};
  if (!chosen.empty()) candidates = {chosen};
  for (const auto& path : candidates) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (fd) return fd;
  }
  return {};
}

Result<void> enterMountNamespace(int pid) {
  // pid 1: the runtime runs hooks inside the container's pid namespace (runc's createContainer
  // hooks), where the state names init as 1 while /proc still shows the host's pid 1.
  if (pid <= 1) return {};
  const std::string theirs = "/proc/" + std::to_string(pid) + "/ns/mnt";
  struct stat self_ns {};
  struct stat their_ns {};
  if (::stat("/proc/self/ns/mnt", &self_ns) != 0) return failErrno("stat /proc/self/ns/mnt");
  // A createContainer hook already runs in the container's mount namespace; a pid we may not
  // inspect (init is not dumpable) leaves us where we are.
  if (::stat(theirs.c_str(), &their_ns) != 0) return {};
  if (self_ns.st_dev == their_ns.st_dev && self_ns.st_ino == their_ns.st_ino) return {};
  UniqueFd ns(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return failErrno("open " + theirs);
  if (::setns(ns.get(), CLONE_NEWNS) != 0) return failErrno("setns " + theirs);
  return {};
}

tl::unexpected<Error> writeError(const std::string& rootfs, const std::string& what, int err) {
  if (err == EROFS) {
    return fail(Errc::kPermission,
                "cannot write " + what + ": the rootfs " + rootfs + " is read-only");
  }
  return failErrno(what + " in " + rootfs, err);
}

// A symlink `link` -> `target` in dir, unless `link` exists in any form.
Result<void> linkIfMissing(int dir, std::string_view target, std::string_view link,
                           const std::string& folder, const std::string& rootfs) {
  struct stat st {};
  const std::string name(link);
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return {};
  if (::symlinkat(std::string(target).c_str(), dir, name.c_str()) != 0 && errno != EEXIST) {
    return writeError(rootfs, "symlink " + folder + "/" + name, errno);
  }
  return {};
}

bool isVersionedLib(std::string_view name) {
  return name.starts_with("lib") && name.find(".so.") != std::string_view::npos;
}

// A soname that is a plain file name: anything else (a path, "..") is ignored, since the
// library is not to be trusted.
bool plainName(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos;
}

Result<void> linkFolder(int rootfs_fd, const std::string& folder, const std::string& rootfs) {
  UniqueFd dir(openat2Fd(rootfs_fd, folder, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT));
  if (!dir) {
    if (errno == ENOENT || errno == ENOTDIR) return {};  // nothing injected there
    return failErrno("open " + folder + " in " + rootfs);
  }
  UniqueFd listing(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = listing ? ::fdopendir(listing.get()) : nullptr;
  if (d == nullptr) return failErrno("list " + folder);
  listing.release();
  std::vector<std::string> names;
  std::set<std::string> linked;  // files some link in the folder already points at
  while (auto* entry = ::readdir(d)) {
    names.emplace_back(entry->d_name);
    if (entry->d_type != DT_LNK) continue;
    char target[PATH_MAX];
    auto n = ::readlinkat(dir.get(), entry->d_name, target, sizeof target - 1);
    if (n > 0) linked.insert(fs::path(std::string(target, n)).filename().string());
  }
  ::closedir(d);

  for (const auto& name : names) {
    // An image's own libraries come with their links: reading each of them on every start
    // would cost more than the whole hook.
    if (!isVersionedLib(name) || linked.count(name)) continue;
    // O_NONBLOCK: a FIFO named like a library must not hang the hook.
    UniqueFd file(
        ::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    auto soname = elfSonameOfFile(fdPath(file.get()));
    if (!soname || !*soname || **soname == name || !plainName(**soname)) continue;
    HULL_TRY(linkIfMissing(dir.get(), name, **soname, folder, rootfs));
  }
  for (const auto& [link, target] : kDevLinks) {
    struct stat st {};
    if (::fstatat(dir.get(), std::string(target).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    HULL_TRY(linkIfMissing(dir.get(), target, link, folder, rootfs));
  }
  return {};
}

// The directory `name` under parent (resolved in the rootfs), made when missing. mkdirat of
// one component never follows a symlink, so a hostile link makes the open fail instead.
Result<UniqueFd> ensureDir(int rootfs_fd, const std::string& path, const std::string& rootfs) {
  UniqueFd dir(openat2Fd(rootfs_fd, path, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT));
  if (dir) return dir;
  if (errno != ENOENT) return failErrno("open " + path + " in " + rootfs);
  const fs::path p(path);
  UniqueFd parent(
      openat2Fd(rootfs_fd, p.parent_path().string(), O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT));
  if (!parent) return failErrno("open " + p.parent_path().string() + " in " + rootfs);
  if (::mkdirat(parent.get(), p.filename().c_str(), 0755) != 0 && errno != EEXIST) {
    return writeError(rootfs, path, errno);
  }
  dir.reset(openat2Fd(rootfs_fd, path, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT));
  if (!dir) return failErrno("open " + path + " in " + rootfs);
  return dir;
}

// Writes dir/name through a staging file and a rename, which replaces a symlink rather than
// writing through it.
Result<void> writeInDir(int dir, const std::string& name, std::string_view data,
                        const std::string& shown, const std::string& rootfs) {
  const std::string staging = "." + name + ".hull-tmp";
  ::unlinkat(dir, staging.c_str(), 0);
  UniqueFd file(
      ::openat(dir, staging.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file) return writeError(rootfs, shown, errno);
  HULL_TRY(writeAll(file.get(), data));
  file.reset();
  if (::renameat(dir, staging.c_str(), dir, name.c_str()) != 0) {
    int err = errno;
    ::unlinkat(dir, staging.c_str(), 0);
    return writeError(rootfs, shown, err);
  }
  return {};
}

Result<void> writeLdConf(int rootfs_fd, const std::vector<std::string>& folders,
                         const std::string& rootfs) {
  HULL_ASSIGN_OR_RETURN(UniqueFd etc, ensureDir(rootfs_fd, "/etc", rootfs));
  HULL_ASSIGN_OR_RETURN(UniqueFd confd, ensureDir(rootfs_fd, "/etc/ld.so.conf.d", rootfs));
  std::string conf;
  for (const auto& folder : folders) conf += folder + "\n";
  HULL_TRY(writeInDir(confd.get(), std::string(kConfName), conf,
                      "/etc/ld.so.conf.d/" + std::string(kConfName), rootfs));
  struct stat st {};
  if (::fstatat(etc.get(), "ld.so.conf", &st, AT_SYMLINK_NOFOLLOW) == 0) return {};
  return writeInDir(etc.get(), "ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n",
                    "/etc/ld.so.conf", rootfs);
}

std::string readTail(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    auto n = readSome(fd, buf, sizeof buf);
    if (!n || *n == 0) break;
    out.append(buf, *n);
    if (out.size() > 8192) out.erase(0, out.size() - 8192);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  auto nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);  // one line
}

// Capabilities ldconfig keeps: it writes /etc/ld.so.cache and links in folders of any owner.
constexpr int kLdconfigCaps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER};

// Runs the host's ldconfig (by the fd opened before entering the container) chrooted into the
// rootfs. Never the image's own: this runs as root with every capability before the container
// drops them, and a hostile image's ldconfig could leave a chroot. The host's runs with no
// capability but those it needs (no CAP_SYS_CHROOT, CAP_SYS_ADMIN, CAP_MKNOD, ...) and
// no_new_privs, so even a bug in it parsing the image's files cannot reach the host.
// The folders are also given on the command line, so an image whose ld.so.conf does not include
// ld.so.conf.d still gets them in its cache.
Result<void> runLdconfig(int rootfs_fd, int host_fd, const std::vector<std::string>& folders) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  const std::string root = fdPath(rootfs_fd);
  std::vector<const char*> argv = {"ldconfig"};
  for (const auto& folder : folders) argv.push_back(folder.c_str());
  argv.push_back(nullptr);
  const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
  pid_t child = ::fork();
  if (child < 0) return failErrno("fork");
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(write_end.get(), STDOUT_FILENO);
    ::dup2(write_end.get(), STDERR_FILENO);
    if (::chroot(root.c_str()) != 0 || ::chdir("/") != 0) ::_exit(126);
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
      bool keep = false;
      for (int k : kLdconfigCaps) keep = keep || k == cap;
      if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) ::_exit(126);
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(126);
    ::fexecve(host_fd, const_cast<char**>(argv.data()), const_cast<char**>(envp));
    ::_exit(127);
  }
  write_end.reset();
  std::string tail = readTail(read_end.get());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return failErrno("wait for ldconfig");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return fail(Errc::kIo, "ldconfig " + how + (tail.empty() ? "" : ": " + tail));
}

}  // namespace

Result<void> runLdcacheHook(const LdcacheHookOptions& options, std::string_view state_json) {
  // 1. Everything that must be read in the host's mount namespace.
  HULL_ASSIGN_OR_RETURN(ContainerState state, readState(state_json));
  UniqueFd host_ldconfig = openHostLdconfig(options.ldconfig);
  // 2. The container's mount namespace, where the driver's files are mounted.
  HULL_TRY(enterMountNamespace(state.pid));
  UniqueFd rootfs(::open(state.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfs) return failErrno("open rootfs " + state.rootfs);
  // 3. Soname links, the ld.so.conf.d entry, then the cache.
  for (const auto& folder : options.folders)
    HULL_TRY(linkFolder(rootfs.get(), folder, state.rootfs));
  HULL_TRY(writeLdConf(rootfs.get(), options.folders, state.rootfs));
  if (!host_ldconfig) {
    std::fprintf(stderr,
                 "hull: warning: no ldconfig on the host: made the library links only, the ld "
                 "cache is unchanged\n");
    return {};
  }
  return runLdconfig(rootfs.get(), host_ldconfig.get(), options.folders);
}

}  // namespace hull::gpu
