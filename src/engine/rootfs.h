// A container's root file system: the image's layers unpacked once each into snapshots shared by
// every container, and an overlay per container with its own upper and work dirs.
//
// On disk (docs/run-spec.md, "Root file system"):
//   <root>/snapshots/<chain-id-hex>/diff   one layer unpacked; whiteouts as overlay whiteouts
//                                          (0:0 char devices, trusted.overlay.opaque=y)
//   <root>/snapshots/<chain-id-hex>/link   its short name
//   <root>/snapshots/l/<short>             -> ../<chain-id-hex>/diff
//   <container_dir>/{upper,work}           the container's writable layer
//   <container_dir>/rootfs                 the overlay mount point (host mount namespace)
//
// A snapshot is built in tmp/ and renamed into place: concurrent runs of the same image may both
// unpack a layer, the first rename wins and the loser discards its copy. Lower dirs are named by
// absolute path when the options fit in the one page that mount(2) accepts; else by their short
// links relative to snapshots/, from a forked child that chdirs there, so 128 layers fit
// (Docker's overlay2 does the same).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "engine/images.h"
#include "store/store.h"

namespace hull::engine {

struct ContainerPlan;

// An overlay mount on container_dir/rootfs, unmounted (lazily) when destroyed unless released.
class RootfsMount {
 public:
  RootfsMount() = default;
  explicit RootfsMount(fs::path path) : path_(std::move(path)) {}
  RootfsMount(RootfsMount&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  RootfsMount& operator=(RootfsMount&& other) noexcept;
  RootfsMount(const RootfsMount&) = delete;
  RootfsMount& operator=(const RootfsMount&) = delete;
  ~RootfsMount();

  const fs::path& path() const { return path_; }
  bool mounted() const { return !path_.empty(); }
  // Leaves the mount in place (the container owns it now; cleanupRootfs removes it).
  void release() { path_.clear(); }
  Result<void> unmount();

 private:
  fs::path path_;
};

// The snapshot directories (each one's diff/) of an image's layers, bottom first, unpacking
// those that are missing. The image's layers must be in the store.
Result<std::vector<fs::path>> ensureSnapshots(const store::Store& store, const ImageView& image);

// Unpacks what is missing, makes container_dir/{upper,work,rootfs} and mounts the overlay.
// container_dir must exist. An image with no layers gets an empty lower dir. A transient rootfs
// (a --rm container's) is never synced to disk: its writes may be lost in a crash.
Result<RootfsMount> prepareRootfs(const store::Store& store, const ImageView& image,
                                  const fs::path& container_dir, bool transient = false);

// Unmounts container_dir/rootfs if mounted and removes rootfs, upper and work: what `rm` calls.
// Missing pieces are not an error.
Result<void> cleanupRootfs(const fs::path& container_dir);

// Creates, inside a prepared rootfs, what the plan mounts onto or starts in: the working dir and
// the destinations of volumes, binds (an empty file for a file source) and tmpfs mounts. Paths
// are resolved with openat2 RESOLVE_IN_ROOT: ".." and symlinks cannot leave the rootfs.
Result<void> prepareMountTargets(const fs::path& rootfs, const ContainerPlan& plan);

// Makes the directory `path` (absolute, inside the rootfs) and its missing parents, mode 0755.
Result<void> mkdirInRoot(int root_fd, std::string_view path);

// Docker copies what the image holds at a volume's destination into a new, empty volume (unless
// volume-nocopy). Copies rootfs/<destination> into `data` when `data` is empty.
Result<void> copyUpVolume(const fs::path& rootfs, std::string_view destination,
                          const fs::path& data);

}  // namespace hull::engine
