// build::Executor over hull's snapshots and runtime (engine/build.h): mount, run, commit.
//
// A commit never re-extracts anything: the upper dir is written as the layer blob in one pass
// (layer::writeDiffLayer: tar, diff ID, compression, blob digest) and then renamed into
// snapshots/<chain-id>/diff, where it is already in the overlay form a snapshot has.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "engine/build.h"
#include "engine/build_executor_internal.h"
#include "engine/images.h"
#include "engine/rootfs.h"
#include "engine/rootfs_internal.h"
#include "engine/snapshot_gc.h"
#include "layer/layer.h"

namespace hull::engine {

namespace detail {

BuildMount::~BuildMount() {
  (void)mount_.unmount();
  // Never a recursive removal while something may still be mounted in the dir.
  if (cleanupRootfs(dir_)) (void)removeAll(dir_);
}

}  // namespace detail

namespace {

using detail::BuildMount;
using detail::CopiedUpDir;
using detail::kShortIdLength;

// The layers as the image view ensureSnapshots and prepareRootfs read.
ImageView viewOf(const std::vector<build::Layer>& layers) {
  ImageView view;
  for (const auto& l : layers) {
    view.manifest.layers.push_back(l.blob);
    view.config.diff_ids.push_back(l.diff_id);
  }
  return view;
}

bool emptyDir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_empty(dir, ec) && !ec;
}

bool sameDir(const struct stat& a, const struct stat& b) {
  return a.st_mode == b.st_mode && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// Directories overlay copied up only because a mount target was made (and removed) in them:
// still empty and as they were, they are no change of the step. Deepest first, and the
// parent's times kept across each rmdir, so that a parent emptied this way is seen as untouched.
void dropUntouchedCopyUps(BuildMount& mount) {
  std::vector<CopiedUpDir> dirs = mount.copiedUp();
  std::stable_sort(dirs.begin(), dirs.end(), [](const CopiedUpDir& a, const CopiedUpDir& b) {
    return a.path.size() > b.path.size();
  });
  for (const auto& dir : dirs) {
    fs::path path = mount.upper() / dir.path;
    struct stat now {};
    if (::lstat(path.c_str(), &now) != 0 || !S_ISDIR(now.st_mode)) continue;
    if (!sameDir(now, dir.before) || !emptyDir(path)) continue;
    struct stat parent {};
    bool parent_ok = ::lstat(path.parent_path().c_str(), &parent) == 0;
    if (::rmdir(path.c_str()) == 0 && parent_ok) {
      timespec times[2] = {parent.st_atim, parent.st_mtim};
      (void)::utimensat(AT_FDCWD, path.parent_path().c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
  }
}

// Renames the committed upper dir into snapshots/<chain>/diff unless that snapshot exists.
Result<void> keepAsSnapshot(const store::Store& store, BuildMount& mount, const Digest& chain) {
  fs::path snapshots = store.root() / "snapshots";
  fs::path target = snapshots / chain.hex();
  std::string short_id = chain.hex().substr(0, kShortIdLength);
  std::error_code ec;
  if (!fs::exists(target / "link", ec)) {
    fs::path staging = mount.dir() / "snapshot";
    HULL_TRY(mkdirAll(staging, 0700));
    if (::rename(mount.upper().c_str(), (staging / "diff").c_str()) != 0) {
      return failErrno("move upper dir");
    }
    HULL_TRY(writeFileAtomic(staging / "link", short_id + "\n"));
    if (::rename(staging.c_str(), target.c_str()) == 0) {
      HULL_TRY(fsyncPath(snapshots));
    } else if (errno != EEXIST && errno != ENOTEMPTY) {
      return failErrno("store snapshot " + chain.hex());
    }
  }
  fs::path link = snapshots / "l" / short_id;
  std::string link_target = fmt::format("../{}/diff", chain.hex());
  if (::symlink(link_target.c_str(), link.c_str()) != 0 && errno != EEXIST) {
    return failErrno("link snapshot " + chain.hex());
  }
  return {};
}

// The upper dir as a layer blob in the store (and its layer record).
Result<build::Layer> storeLayer(const store::Store& store, const fs::path& upper,
                                const build::CommitOptions& options) {
  HULL_ASSIGN_OR_RETURN(store::BlobWriter blob, store.ingest());
  auto out = layer::funcWriter(
      [&blob](const void* data, std::size_t size) { return blob.write(data, size); });
  layer::DiffOptions diff;
  diff.source_date_epoch = options.source_date_epoch;
  HULL_ASSIGN_OR_RETURN(layer::LayerInfo info,
                        layer::writeDiffLayer(upper, *out, options.compression, diff));
  HULL_ASSIGN_OR_RETURN(oci::Descriptor d, blob.commit(info.media_type, info.digest, info.size));
  // Best effort: spares save, images and the next mount a decompression.
  (void)store.putLayerRecord(d.digest, {info.diff_id, info.uncompressed_size});
  return build::Layer{.blob = std::move(d), .diff_id = info.diff_id};
}

class BuildExecutor : public build::Executor {
 public:
  explicit BuildExecutor(const store::Store& store) : store_(store) {}

  Result<std::unique_ptr<build::Mounted>> mount(const std::vector<build::Layer>& layers) override {
    HULL_ASSIGN_OR_RETURN(store::Lock lock, store_.lock(store::LockMode::kShared));
    HULL_TRY(mkdirAll(store_.tmpDir(), 0700));
    fs::path dir = fs::absolute(uniquePath(store_.tmpDir(), "build")).lexically_normal();
    HULL_TRY(mkdirAll(dir, 0700));
    ScopeExit drop([&] { (void)removeAll(dir); });
    // Transient: the upper dir is synced once, at commit, and only when it is kept.
    auto mounted = prepareRootfs(store_, viewOf(layers), dir, true);
    if (!mounted) {
      (void)cleanupRootfs(dir);
      return fail(mounted.error().wrap("mount build root"));
    }
    drop.dismiss();
    return std::unique_ptr<build::Mounted>(
        std::make_unique<BuildMount>(std::move(lock), dir, std::move(*mounted), layers));
  }

  Result<int> run(build::Mounted& root, const build::RunRequest& request) override {
    auto* mount = dynamic_cast<BuildMount*>(&root);
    if (mount == nullptr) return fail(Errc::kInternal, "run: not a mount of this executor");
    return detail::runStep(store_, *mount, request);
  }

  Result<std::optional<build::Layer>> commit(std::unique_ptr<build::Mounted> root,
                                             const build::CommitOptions& options) override {
    auto* mount = dynamic_cast<BuildMount*>(root.get());
    if (mount == nullptr) return fail(Errc::kInternal, "commit: not a mount of this executor");
    HULL_TRY(mount->unmount());
    dropUntouchedCopyUps(*mount);
    if (emptyDir(mount->upper())) return std::optional<build::Layer>();
    // The volatile mount skipped its syncs: flush the upper dir while it is read for the blob.
    UniqueFd upper_fd(::open(mount->upper().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!upper_fd) return failErrno("open " + mount->upper().string());
    std::thread sync([fd = upper_fd.get()] { (void)::syncfs(fd); });
    auto stored = storeLayer(store_, mount->upper(), options);
    sync.join();
    if (!stored) return fail(stored.error().wrap("commit"));
    std::vector<Digest> diff_ids;
    for (const auto& l : mount->layers()) diff_ids.push_back(l.diff_id);
    diff_ids.push_back(stored->diff_id);
    HULL_TRY(keepAsSnapshot(store_, *mount, chainIds(diff_ids).back()));
    return std::optional<build::Layer>(std::move(*stored));
  }

 private:
  const store::Store& store_;
};

}  // namespace

std::unique_ptr<build::Executor> makeBuildExecutor(const store::Store& store) {
  return std::make_unique<BuildExecutor>(store);
}

}  // namespace hull::engine
