// Snapshots and the per-container overlay (the layout is in rootfs.h and docs/run-spec.md).
#include "engine/rootfs.h"
#include "base/archive_loader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "engine/layer_verify.h"
#include "engine/rootfs_internal.h"
#include "engine/rootfs_view.h"
#include "engine/run_spec.h"
#include "engine/run_spec_internal.h"
#include "layer/layer.h"

namespace hull::engine {

namespace {

using detail::kEmptySnapshot;
using detail::kShortIdLength;

constexpr std::size_t kMountDataMax = 4095;  // mount(2) copies one page of options
constexpr std::string_view kVolatile = ",volatile";

std::pair<std::string, std::string> splitParent(const std::string& clean) {
  std::size_t slash = clean.rfind('/');
  if (slash == std::string::npos) return {"", clean};
  return {clean.substr(0, slash), clean.substr(slash + 1)};
}

// A tar entry's name as a relative path ("./a/b" and "/a/b" -> "a/b"); nullopt for names that
// climb out (applyLayer has already refused such a layer).
std::optional<std::string> relativeName(std::string_view name) {
  std::string clean = detail::cleanPath(fmt::format("/{}", name));
  if (clean == "/") return std::string();
  return clean.substr(1);
}

// applyLayer deletes what a whiteout hides, which in a layer's own directory is nothing. Overlay
// needs them written down: a 0:0 character device for ".wh.NAME", and trusted.overlay.opaque=y
// on the directory of ".wh..wh..opq". So read the layer's names once more and add them.
Result<void> addOverlayWhiteouts(int blob_fd, int diff_fd) {
  archive* a = archive_read_new();
  if (a == nullptr) return fail(archiveNewError("archive_read_new"));
  ScopeExit free_archive([&] { archive_read_free(a); });
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, blob_fd, 1 << 20) != ARCHIVE_OK) {
    return fail(Errc::kCorrupt, fmt::format("read layer: {}", archive_error_string(a)));
  }
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return fail(Errc::kCorrupt, fmt::format("read layer: {}", archive_error_string(a)));
    }
    const char* raw = archive_entry_pathname(entry);
    auto name = raw != nullptr ? relativeName(raw) : std::nullopt;
    if (!name || name->empty()) continue;
    auto [parent, base] = splitParent(*name);
    if (!base.starts_with(".wh.")) continue;
    HULL_TRY(mkdirInRoot(diff_fd, "/" + parent));
    UniqueFd dir(detail::openInRoot(diff_fd, parent, O_RDONLY | O_DIRECTORY));
    if (!dir) return failErrno(fmt::format("open {} in layer", parent));
    if (base == ".wh..wh..opq") {
      if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return failErrno(fmt::format("mark {} opaque", parent));
      }
    } else if (!base.starts_with(".wh..wh.")) {
      std::string hidden = base.substr(4);
      if (::mknodat(dir.get(), hidden.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0 &&
          errno != EEXIST) {
        return failErrno(fmt::format("whiteout {}/{}", parent, hidden));
      }
    }
  }
  return {};
}

Result<void> unpackLayer(const store::Store& store, const Digest& blob, const fs::path& diff) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader reader, store.openBlob(blob));
  auto in = layer::funcReader([&reader](void* p, std::size_t n) { return reader.read(p, n); });
  layer::ApplyOptions options{.allow_devices = true, .allow_setuid = true, .preserve_owners = true};
  HULL_TRY(layer::applyLayer(*in, diff, options));
  // Second pass for the whiteouts; the blob was verified by the first.
  HULL_ASSIGN_OR_RETURN(store::BlobReader again, store.openBlob(blob));
  UniqueFd diff_fd(::open(diff.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!diff_fd) return failErrno("open " + diff.string());
  return addOverlayWhiteouts(again.fd(), diff_fd.get());
}

fs::path snapshotsDir(const store::Store& store) { return store.root() / "snapshots"; }

// The short link l/<short> -> ../<name>/diff; several creators agree on its name.
Result<void> linkSnapshot(const store::Store& store, const std::string& name,
                          const std::string& short_id) {
  fs::path link = snapshotsDir(store) / "l" / short_id;
  std::string target = fmt::format("../{}/diff", name);
  if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST) {
    return failErrno("link snapshot " + name);
  }
  return {};
}

// One snapshot: unpacked in tmp/, renamed into place; a lost race discards its copy.
Result<void> ensureSnapshot(const store::Store& store, const std::string& name,
                            const std::optional<Digest>& blob) {
  fs::path target = snapshotsDir(store) / name;
  std::string short_id = name.substr(0, std::min(name.size(), kShortIdLength));
  std::error_code ec;
  if (fs::exists(target / "link", ec)) return linkSnapshot(store, name, short_id);
  fs::path staging = uniquePath(store.tmpDir(), "snapshot");
  ScopeExit drop([&] { (void)removeAll(staging); });
  HULL_TRY(mkdirAll(staging / "diff", 0755));
  if (blob) {
    auto r = unpackLayer(store, *blob, staging / "diff");
    if (!r) return fail(r.error().wrap("unpack layer " + blob->str()));
  }
  HULL_TRY(writeFileAtomic(staging / "link", short_id + "\n"));
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) return failErrno("store snapshot " + name);
  } else {
    drop.dismiss();
    HULL_TRY(fsyncPath(snapshotsDir(store)));
  }
  return linkSnapshot(store, name, short_id);
}

struct Lower {
  std::string name;
  std::string short_id;
};

Result<std::vector<Lower>> ensureLowers(const store::Store& store, const ImageView& image) {
  const auto& diff_ids = image.config.diff_ids;
  const auto& layers = image.manifest.layers;
  if (diff_ids.size() != layers.size()) {
    return fail(Errc::kCorrupt,
                fmt::format("image has {} layers but {} diff IDs", layers.size(), diff_ids.size()));
  }
  HULL_TRY(mkdirAll(snapshotsDir(store) / "l", 0700));
  std::vector<Lower> lowers;
  if (layers.empty()) {
    HULL_TRY(ensureSnapshot(store, std::string(kEmptySnapshot), std::nullopt));
    lowers.push_back({std::string(kEmptySnapshot), std::string(kEmptySnapshot)});
    return lowers;
  }
  Digest chain;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    // The OCI chain ID: the identity of a layer together with everything below it.
    chain = i == 0 ? diff_ids[0] : Digest::ofBytes(chain.str() + " " + diff_ids[i].str());
    HULL_TRY(verifyLayerDiffId(store, layers[i].digest, diff_ids[i]));
    HULL_TRY(ensureSnapshot(store, chain.hex(), layers[i].digest));
    lowers.push_back({chain.hex(), chain.hex().substr(0, kShortIdLength)});
  }
  return lowers;
}

// mount(2) from a child that chdirs into snapshots/, so lower dirs can be named "l/<short>";
// the child shares our mount namespace, and our own working directory stays untouched.
Result<void> mountOverlayFromSnapshots(const fs::path& cwd, const fs::path& target,
                                       const std::string& data) {
  std::string cwd_s = cwd.string(), target_s = target.string();
  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork");
  if (pid == 0) {
    if (::chdir(cwd_s.c_str()) != 0) ::_exit(errno);
    if (::mount("overlay", target_s.c_str(), "overlay", 0, data.c_str()) != 0) ::_exit(errno);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return failErrno("wait for mount helper");
  }
  if (!WIFEXITED(status)) return fail(Errc::kInternal, "overlay mount helper died");
  if (int err = WEXITSTATUS(status); err != 0) {
    return failErrno(fmt::format("mount overlay on {}", target_s), err);
  }
  return {};
}

// overlayfs cannot take an upper dir that is itself on overlayfs (a store inside a container's
// root file system): the kernel only says EINVAL, so say what to do instead.
Error explainOverlayFailure(Error error, const fs::path& upper) {
  constexpr long kOverlayfsMagic = 0x794c7630;
  struct statfs st {};
  if (::statfs(upper.c_str(), &st) != 0 || st.f_type != kOverlayfsMagic) return error;
  return Error{.code = Errc::kUnsupported,
               .message = fmt::format(
                   "{}: the store is on overlayfs, which cannot hold a container's writable layer; "
                   "put the store on another file system (--root or HULL_ROOT, e.g. a volume)",
                   error.message)};
}

// The overlay options with lower dirs named both ways: by short link relative to snapshots/
// (fits 128 layers in a page) and by absolute path (needs no chdir, so no helper process).
struct OverlayData {
  std::string relative;
  std::string absolute;
};

// Mounts in-process when the absolute form fits in mount(2)'s page (and the store's path can be
// an option value), which saves a fork on every start; else through the helper with short names.
Result<void> mountOverlay(const fs::path& snapshots, const fs::path& target,
                          const OverlayData& data) {
  if (data.absolute.size() > kMountDataMax ||
      snapshots.string().find_first_of(",:") != std::string::npos) {
    return mountOverlayFromSnapshots(snapshots, target, data.relative);
  }
  if (::mount("overlay", target.c_str(), "overlay", 0, data.absolute.c_str()) != 0) {
    return failErrno(fmt::format("mount overlay on {}", target.string()));
  }
  return {};
}

Result<UniqueFd> openDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno("open " + dir.string());
  return UniqueFd(fd);
}

// mkdir -p inside a root: every prefix is resolved with RESOLVE_IN_ROOT. A dangling symlink on
// the way is followed by making its target (inside the root, as the kernel would resolve it),
// which is what `mkdir -p` through a symlink does on a real root.
Result<void> mkdirInRootFollowing(int root_fd, std::string_view path, int depth) {
  if (depth > 40) return fail(Errc::kInvalidArgument, fmt::format("too many symlinks in {}", path));
  std::string clean = detail::cleanPath(fmt::format("/{}", path)).substr(1);
  std::string prefix;
  for (const std::string& part : detail::splitList(clean, '/')) {
    std::string next = prefix.empty() ? part : prefix + "/" + part;
    UniqueFd fd(detail::openInRoot(root_fd, next, O_PATH | O_DIRECTORY));
    if (!fd) {
      if (errno != ENOENT) return failErrno(fmt::format("open /{} in rootfs", next));
      UniqueFd parent(detail::openInRoot(root_fd, prefix, O_PATH | O_DIRECTORY));
      if (!parent) return failErrno(fmt::format("open /{} in rootfs", prefix));
      char target[4096];
      ssize_t n = ::readlinkat(parent.get(), part.c_str(), target, sizeof target - 1);
      if (n > 0) {
        std::string link(target, static_cast<std::size_t>(n));
        std::string resolved = link[0] == '/' ? link : "/" + prefix + "/" + link;
        HULL_TRY(mkdirInRootFollowing(root_fd, resolved, depth + 1));
      } else if (::mkdirat(parent.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return failErrno(fmt::format("mkdir /{} in rootfs", next));
      }
    }
    prefix = std::move(next);
  }
  return {};
}

Result<void> createFileInRoot(int root_fd, const std::string& path) {
  auto [parent, base] = splitParent(detail::cleanPath(path).substr(1));
  HULL_TRY(mkdirInRoot(root_fd, "/" + parent));
  UniqueFd dir(detail::openInRoot(root_fd, parent, O_RDONLY | O_DIRECTORY));
  if (!dir) return failErrno(fmt::format("open {} in rootfs", parent));
  int fd = ::openat(dir.get(), base.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR && errno != ELOOP && errno != EEXIST) {
    return failErrno(fmt::format("create mount target {}", path));
  }
  if (fd >= 0) ::close(fd);
  return {};
}

bool isDefaultMount(const oci::Mount& m) {
  for (const auto& d : detail::defaultMounts(0)) {
    if (d.destination == m.destination && d.type == m.type) return true;
  }
  return false;
}

}  // namespace

RootfsMount& RootfsMount::operator=(RootfsMount&& other) noexcept {
  if (this != &other) {
    (void)unmount();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

RootfsMount::~RootfsMount() { (void)unmount(); }

Result<void> RootfsMount::unmount() {
  if (path_.empty()) return {};
  fs::path path = std::exchange(path_, {});
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return failErrno("unmount " + path.string());
  }
  return {};
}

Result<std::vector<fs::path>> ensureSnapshots(const store::Store& store, const ImageView& image) {
  HULL_ASSIGN_OR_RETURN(std::vector<Lower> lowers, ensureLowers(store, image));
  std::vector<fs::path> out;
  for (const auto& l : lowers) out.push_back(snapshotsDir(store) / l.name / "diff");
  return out;
}

Result<RootfsMount> prepareRootfs(const store::Store& store, const ImageView& image,
                                  const fs::path& container_dir, bool transient) {
  // The store lock keeps prune from removing staging dirs while we unpack.
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(std::vector<Lower> lowers, ensureLowers(store, image));
  fs::path dir = fs::absolute(container_dir).lexically_normal();
  for (const char* sub : {"upper", "work", "rootfs"}) HULL_TRY(mkdirAll(dir / sub, 0755));
  if (dir.string().find_first_of(",:") != std::string::npos) {
    return fail(Errc::kUnsupported,
                fmt::format("container dir {} holds ',' or ':', which overlay options cannot "
                            "carry",
                            dir.string()));
  }
  fs::path snapshots = fs::absolute(snapshotsDir(store)).lexically_normal();
  OverlayData data;
  for (auto it = lowers.rbegin(); it != lowers.rend(); ++it) {  // overlay lists the top first
    data.relative += (data.relative.empty() ? "l/" : ":l/") + it->short_id;
    data.absolute += (data.absolute.empty() ? "" : ":") + (snapshots / it->name / "diff").string();
  }
  std::string rest =
      fmt::format(",upperdir={},workdir={}", (dir / "upper").string(), (dir / "work").string());
  data.relative = "lowerdir=" + data.relative + rest;
  data.absolute = "lowerdir=" + data.absolute + rest;
  if (data.relative.size() > kMountDataMax) {
    return fail(Errc::kUnsupported,
                fmt::format("image has too many layers ({}) for one overlay mount", lowers.size()));
  }
  if (transient && data.relative.size() + kVolatile.size() <= kMountDataMax) {
    // The upper dir dies with the container: volatile (Linux 5.10) skips the syncs of the upper
    // file system, above all the one at unmount. Older kernels reject it; then mount without,
    // which also reports any other reason for the failure.
    OverlayData fast{.relative = data.relative + std::string(kVolatile),
                     .absolute = data.absolute + std::string(kVolatile)};
    if (mountOverlay(snapshots, dir / "rootfs", fast)) return RootfsMount(dir / "rootfs");
  }
  if (auto mounted = mountOverlay(snapshots, dir / "rootfs", data); !mounted) {
    return fail(explainOverlayFailure(std::move(mounted).error(), dir / "upper"));
  }
  return RootfsMount(dir / "rootfs");
}

Result<void> cleanupRootfs(const fs::path& container_dir) {
  fs::path rootfs = container_dir / "rootfs";
  // Stacked mounts (a crash between two runs) are peeled one by one; EINVAL: not a mount point.
  for (int i = 0; i < 16; ++i) {
    if (::umount2(rootfs.c_str(), MNT_DETACH) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break;
    return failErrno("unmount " + rootfs.string());
  }
  // rmdir, never a recursive removal: if something is still mounted there it is image data.
  if (::rmdir(rootfs.c_str()) != 0 && errno != ENOENT)
    return failErrno("remove " + rootfs.string());
  HULL_TRY(removeAll(container_dir / "upper"));
  HULL_TRY(removeAll(container_dir / "work"));
  return {};
}

Result<void> mkdirInRoot(int root_fd, std::string_view path) {
  return mkdirInRootFollowing(root_fd, path, 0);
}

Result<void> prepareMountTargets(const fs::path& rootfs, const ContainerPlan& plan) {
  HULL_ASSIGN_OR_RETURN(UniqueFd root, openDir(rootfs));
  if (plan.spec.process) HULL_TRY(mkdirInRoot(root.get(), plan.spec.process->cwd));
  for (const auto& m : plan.spec.mounts) {
    if (isDefaultMount(m)) continue;
    struct stat st {};
    bool file_source =
        m.type == "bind" && ::stat(m.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    auto r = file_source ? createFileInRoot(root.get(), m.destination)
                         : mkdirInRoot(root.get(), m.destination);
    if (!r) return fail(r.error().wrap("mount target " + m.destination));
  }
  return {};
}

Result<void> copyUpVolume(const fs::path& rootfs, std::string_view destination,
                          const fs::path& data) {
  std::error_code ec;
  if (!fs::is_empty(data, ec) || ec) return {};  // only a new, empty volume gets a copy
  HULL_ASSIGN_OR_RETURN(UniqueFd root, openDir(rootfs));
  std::string rel = detail::cleanPath(fmt::format("/{}", destination)).substr(1);
  UniqueFd source(detail::openInRoot(root.get(), rel, O_RDONLY | O_DIRECTORY));
  if (!source) {
    if (errno == ENOENT || errno == ENOTDIR) return {};  // nothing in the image there
    return failErrno(fmt::format("open {} in rootfs", destination));
  }
  // The resolved directory, named through its fd: no path string re-enters the rootfs.
  fs::path source_path = fmt::format("/proc/self/fd/{}", source.get());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  Result<int64_t> written = 0;
  std::thread producer([&] {
    // A consumer that stops early closes the pipe: take EPIPE as an error, not a signal.
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    auto out = layer::fdWriter(write_end.get());
    written = layer::writeTree(source_path, *out);
    if (written) (void)out->finish();
    write_end.reset();
  });
  auto in = layer::fdReader(read_end.get());
  layer::ApplyOptions options{.allow_devices = true, .allow_setuid = true, .preserve_owners = true};
  auto applied = layer::applyLayer(*in, data, options);
  read_end.reset();  // unblocks the producer if the consumer stopped early
  producer.join();
  if (!written) return fail(written.error().wrap("copy " + std::string(destination)));
  if (!applied) return fail(applied.error().wrap("copy " + std::string(destination)));
  return {};
}

}  // namespace hull::engine
