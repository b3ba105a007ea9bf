// RUN --mount (run_mounts.h): each mount of a step resolved to a host source, holding what it
// needs (cache locks, secret files, throwaway copies, mounted stages) until the step is over.
#include "build/run_mounts.h"
#include "base/fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "base/json.h"
#include "base/scope_exit.h"

namespace hull::build {

namespace detail {

// What a step's mounts hold; RunMounts::State is this, named outside the class so the helpers
// below can fill it in, and outside the anonymous namespace because State is declared in
// run_mounts.h.
struct HeldMounts {
  std::vector<RunMount> mounts;
  std::vector<std::string> env;
  // Released in reverse order of declaration: the files go first, then the locks and mounts.
  std::vector<std::unique_ptr<Mounted>> roots;  // what from= names, mounted for the step
  std::vector<UniqueFd> locks;                  // flocks on cache mount lock files
  std::vector<fs::path> scratch;                // secret files, private caches, rw copies

  ~HeldMounts() {
    for (const auto& p : scratch) (void)removeAll(p);
  }
};

}  // namespace detail

namespace {

using detail::HeldMounts;

constexpr uint32_t kCacheMode = 0755;
constexpr uint32_t kSecretMode = 0400;

RunMount bindMount(fs::path source, const std::string& target, bool readonly) {
  RunMount r;
  r.source = std::move(source);
  r.target = target;
  r.readonly = readonly;
  return r;
}

// -errno on failure.
int openResolved(int dirfd, const std::string& path, uint64_t resolve) {
  int fd = openat2Fd(dirfd, path, O_PATH, resolve);
  return fd < 0 ? -errno : fd;
}

// `source` inside `root`, resolved by the kernel relative to the root's fd: with `beneath`, a
// ".." or symlink that leads out is an error (the build context); otherwise the root acts as
// "/" for absolute symlinks and ".." (a stage's or image's file system). Returns the host path
// the kernel found, checked once more to lie inside the root.
Result<fs::path> resolveInside(const fs::path& root, std::string_view source, bool beneath,
                               std::string_view what) {
  std::error_code ec;
  fs::path real_root = fs::canonical(root, ec);
  if (ec) return fail(Errc::kNotFound, fmt::format("{} {}: {}", what, root.string(), ec.message()));
  HULL_ASSIGN_OR_RETURN(UniqueFd rootfd, openFile(real_root, O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string rel(source);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  int got = openResolved(rootfd.get(), rel, beneath ? RESOLVE_BENEATH : RESOLVE_IN_ROOT);
  if (got == -EXDEV || got == -ELOOP) {
    return fail(Errc::kPermission,
                fmt::format("RUN --mount source \"{}\" is outside the {}", source, what));
  }
  if (got < 0) {
    return fail(Errc::kNotFound, fmt::format("RUN --mount source \"{}\" in the {}: {}", source,
                                             what, std::strerror(-got)));
  }
  UniqueFd fd(got);
  fs::path found = fs::read_symlink(fmt::format("/proc/self/fd/{}", fd.get()), ec);
  if (ec) return fail(Errc::kIo, "resolve RUN --mount source: " + ec.message());
  auto [r, f] = std::mismatch(real_root.begin(), real_root.end(), found.begin(), found.end());
  if (r != real_root.end()) {
    return fail(Errc::kPermission,
                fmt::format("RUN --mount source \"{}\" is outside the {}", source, what));
  }
  return found;
}

// chown, or fchown when fd >= 0. Without root only our own ids can be given; a user namespace
// maps the step's root to us then, so EPERM there is not an error.
Result<void> setOwner(const fs::path& path, int fd, uint32_t uid, uint32_t gid) {
  int rc = fd >= 0 ? ::fchown(fd, uid, gid) : ::chown(path.c_str(), uid, gid);
  if (rc != 0 && !(errno == EPERM && ::geteuid() != 0)) return failErrno("chown " + path.string());
  return {};
}

// A directory made with its owner and mode in tmp/, then renamed into place, so no step ever
// sees it half set up. Another process that made it first wins; ours is dropped.
Result<void> makeOwnedDir(const store::Store& store, const fs::path& dir, uint32_t mode,
                          uint32_t uid, uint32_t gid) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fail(Errc::kCorrupt, dir.string() + " is not a directory");
    return {};
  }
  HULL_TRY(mkdirAll(dir.parent_path(), 0700));
  HULL_TRY(mkdirAll(store.tmpDir(), 0700));
  fs::path tmp = uniquePath(store.tmpDir(), "cache-mount");
  if (::mkdir(tmp.c_str(), 0700) != 0) return failErrno("mkdir " + tmp.string());
  ScopeExit cleanup([&] { (void)removeAll(tmp); });
  HULL_TRY(setOwner(tmp, -1, uid, gid));
  if (::chmod(tmp.c_str(), mode & 07777) != 0) return failErrno("chmod " + tmp.string());
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0 &&
      errno != EEXIST) {
    return failErrno("rename " + tmp.string() + " to " + dir.string());
  }
  return {};
}

// flock with EINTR retried; false when `nonblocking` and someone else holds a conflicting lock.
Result<bool> flockFd(int fd, int op) {
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && (op & LOCK_NB)) return false;
    return failErrno("flock");
  }
  return true;
}

std::string cacheId(const dockerfile::Mount& m) { return m.id.empty() ? m.target : m.id; }
std::string sharingOf(const dockerfile::Mount& m) {
  return m.sharing.empty() ? "shared" : m.sharing;
}

// shared: a shared flock, so locked and private users can see that the directory is in use.
// locked: an exclusive flock, waited for, held until the step ends. private: the shared
// directory when nobody uses it (tested with a non-blocking exclusive flock, then held shared),
// else a fresh directory of its own in tmp/, removed after the step.
Result<fs::path> resolveCache(const dockerfile::Mount& m, const MountEnv& env, HeldMounts& state) {
  if (!m.from.empty()) {
    return fail(Errc::kUnsupported, "RUN --mount=type=cache,from= is not supported");
  }
  uint32_t mode = m.mode.value_or(kCacheMode), uid = m.uid.value_or(0), gid = m.gid.value_or(0);
  fs::path dir = env.cache->mountDir(cacheId(m));
  HULL_TRY(makeOwnedDir(*env.store, dir, mode, uid, gid));
  fs::path lock_path = dir;
  lock_path += ".lock";
  HULL_ASSIGN_OR_RETURN(UniqueFd lock, openFile(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  std::string sharing = sharingOf(m);
  if (sharing == "locked") {
    HULL_TRY(flockFd(lock.get(), LOCK_EX));
  } else if (sharing == "private") {
    HULL_ASSIGN_OR_RETURN(bool alone, flockFd(lock.get(), LOCK_EX | LOCK_NB));
    if (!alone) {
      fs::path own = uniquePath(env.store->tmpDir(), "cache-private");
      if (::mkdir(own.c_str(), 0700) != 0) return failErrno("mkdir " + own.string());
      state.scratch.push_back(own);
      HULL_TRY(setOwner(own, -1, uid, gid));
      if (::chmod(own.c_str(), mode & 07777) != 0) return failErrno("chmod " + own.string());
      return own;
    }
    HULL_TRY(flockFd(lock.get(), LOCK_SH));
  } else {
    HULL_TRY(flockFd(lock.get(), LOCK_SH));
  }
  state.locks.push_back(std::move(lock));
  return dir;
}

// The secret's bytes in a file of its own under tmp/, owned and moded as asked; removed with
// the state. Staged under the store's tmp/ so a crash leaves it where prune sweeps.
Result<fs::path> writeSecret(const dockerfile::Mount& m, const std::string& content,
                             const MountEnv& env, HeldMounts& state) {
  HULL_TRY(mkdirAll(env.store->tmpDir(), 0700));
  fs::path path = uniquePath(env.store->tmpDir(), "secret");
  HULL_ASSIGN_OR_RETURN(UniqueFd fd,
                        openFile(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  state.scratch.push_back(path);
  HULL_TRY(writeAll(fd.get(), content));
  HULL_TRY(setOwner(path, fd.get(), m.uid.value_or(0), m.gid.value_or(0)));
  if (::fchmod(fd.get(), m.mode.value_or(kSecretMode) & 07777) != 0) {
    return failErrno("chmod " + path.string());
  }
  return path;
}

Result<void> resolveSecret(const dockerfile::Mount& m, const MountEnv& env, HeldMounts& state) {
  std::string id = m.id;
  if (id.empty()) id = m.target.substr(m.target.rfind('/') + 1);
  if (id.empty()) return fail(Errc::kInvalidArgument, "secret mount requires an id or a target");
  auto found = env.options->secrets.find(id);
  if (found == env.options->secrets.end()) {
    if (m.required) return fail(Errc::kNotFound, "secret " + id + " not found");
    return {};  // Docker's way: an optional secret that is absent is simply not mounted.
  }
  if (m.env) state.env.push_back(*m.env + "=" + found->second);
  std::string target = m.target;
  if (target.empty() && !m.env) target = "/run/secrets/" + id;
  if (target.empty()) return {};
  HULL_ASSIGN_OR_RETURN(fs::path file, writeSecret(m, found->second, env, state));
  state.mounts.push_back(bindMount(file, target, true));
  return {};
}

// rw on a context bind: the step writes into a copy, never into the user's files.
Result<fs::path> throwawayCopy(const fs::path& source, const MountEnv& env, HeldMounts& state) {
  HULL_TRY(mkdirAll(env.store->tmpDir(), 0700));
  fs::path copy = uniquePath(env.store->tmpDir(), "bind");
  state.scratch.push_back(copy);
  std::error_code ec;
  fs::copy(source, copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return fail(Errc::kIo, "copy " + source.string() + ": " + ec.message());
  return copy;
}

Result<void> resolveBind(const dockerfile::Mount& m, const MountEnv& env, HeldMounts& state) {
  RunMount out = bindMount({}, m.target, m.readonly);
  if (m.from.empty()) {
    if (env.options->context.empty()) {
      return fail(Errc::kInvalidArgument, "RUN --mount=type=bind needs a build context");
    }
    HULL_ASSIGN_OR_RETURN(fs::path src,
                          resolveInside(env.options->context, m.source, true, "build context"));
    if (!m.readonly) {
      HULL_ASSIGN_OR_RETURN(src, throwawayCopy(src, env, state));
    }
    out.source = std::move(src);
  } else {
    if (!env.mount_from) return fail(Errc::kInternal, "RUN --mount from= without a resolver");
    HULL_ASSIGN_OR_RETURN(std::unique_ptr<Mounted> root, env.mount_from(m));
    if (!root) return fail(Errc::kInternal, "RUN --mount from=" + m.from + ": nothing mounted");
    // The mounted root is a writable overlay of its own, discarded afterwards: rw needs no copy.
    HULL_ASSIGN_OR_RETURN(out.source, resolveInside(root->root(), m.source, false, m.from));
    state.roots.push_back(std::move(root));
  }
  state.mounts.push_back(std::move(out));
  return {};
}

Result<void> resolveOne(const dockerfile::Mount& m, const MountEnv& env, HeldMounts& state) {
  if (m.type == "ssh") return fail(Errc::kUnsupported, "RUN --mount=type=ssh is not supported");
  if (m.type == "secret") return resolveSecret(m, env, state);
  if (m.target.empty() || m.target.front() != '/') {
    return fail(Errc::kInvalidArgument, "RUN --mount=type=" + m.type +
                                            " needs an absolute target, got \"" + m.target + "\"");
  }
  if (m.type == "cache") {
    HULL_ASSIGN_OR_RETURN(fs::path dir, resolveCache(m, env, state));
    state.mounts.push_back(bindMount(dir, m.target, m.readonly));
    return {};
  }
  if (m.type == "tmpfs") {
    RunMount tmpfs;
    tmpfs.kind = RunMount::Kind::kTmpfs;
    tmpfs.target = m.target;
    tmpfs.readonly = false;
    tmpfs.size = m.size;
    state.mounts.push_back(std::move(tmpfs));
    return {};
  }
  if (m.type == "bind") return resolveBind(m, env, state);
  return fail(Errc::kInvalidArgument, "unsupported mount type \"" + m.type + "\"");
}

}  // namespace

struct RunMounts::State : detail::HeldMounts {};

RunMounts::RunMounts(std::unique_ptr<State> state) : state_(std::move(state)) {}
RunMounts::RunMounts(RunMounts&&) noexcept = default;
RunMounts& RunMounts::operator=(RunMounts&&) noexcept = default;
RunMounts::~RunMounts() = default;

Result<RunMounts> RunMounts::resolve(const std::vector<dockerfile::Mount>& mounts,
                                     const MountEnv& env) {
  if (env.store == nullptr || env.cache == nullptr || env.options == nullptr) {
    return fail(Errc::kInternal, "RUN --mount: incomplete mount environment");
  }
  // On failure the state goes with this frame: files removed, locks and mounts released.
  auto state = std::make_unique<State>();
  for (const auto& m : mounts) {
    HULL_TRY(resolveOne(m, env, *state).map_error([&](Error e) {
      return e.wrap("RUN --mount=type=" + m.type);
    }));
  }
  return RunMounts(std::move(state));
}

const std::vector<RunMount>& RunMounts::mounts() const { return state_->mounts; }
std::vector<std::string> RunMounts::env() const { return state_->env; }

std::vector<std::string> canonicalMounts(
    const std::vector<dockerfile::Mount>& mounts,
    const std::function<Digest(const dockerfile::Mount&)>& from_key) {
  // Defaults are filled in first, so "id=/x" and an id left to default to target /x agree.
  std::vector<std::pair<std::string, std::string>> keyed;  // target, canonical JSON
  for (const auto& m : mounts) {
    Json j = {{"type", m.type}, {"target", m.target}};
    if (m.type == "cache") {
      j.update({{"id", cacheId(m)},
                {"sharing", sharingOf(m)},
                {"mode", m.mode.value_or(kCacheMode)},
                {"uid", m.uid.value_or(0)},
                {"gid", m.gid.value_or(0)},
                {"readonly", m.readonly},
                {"from", m.from},
                {"source", m.source}});
    } else if (m.type == "secret") {
      // The id names the secret; its content never enters a key.
      j.update({{"id", m.id},
                {"env", m.env ? Json(*m.env) : Json()},
                {"required", m.required},
                {"mode", m.mode.value_or(kSecretMode)},
                {"uid", m.uid.value_or(0)},
                {"gid", m.gid.value_or(0)}});
    } else if (m.type == "bind") {
      j.update({{"from", m.from}, {"source", m.source}, {"readonly", m.readonly}});
      if (from_key) j["from_key"] = from_key(m).str();
    } else if (m.type == "tmpfs") {
      j["size"] = m.size ? Json(*m.size) : Json();
    } else {
      j["id"] = m.id;
    }
    keyed.emplace_back(m.target, canonicalJson(j));
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  out.reserve(keyed.size());
  for (auto& [target, text] : keyed) out.push_back(std::move(text));
  return out;
}

}  // namespace hull::build
