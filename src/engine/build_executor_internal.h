// Pieces of the build executor (build_executor.cc, build_run.cc); not part of the engine's
// contract.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "build/build.h"
#include "engine/rootfs.h"
#include "engine/rootfs_view.h"
#include "oci/spec_edit.h"
#include "store/store.h"

namespace hull::engine::detail {

// A directory of the upper dir that a RUN's mount target made overlay copy up, with what it
// looked like before. If it is still empty and unchanged at commit, it is no change of the step.
struct CopiedUpDir {
  std::string path;  // relative to the root, e.g. "etc"
  struct stat before {};
};

// One build mount: tmp/build-XXXX/{upper,work,rootfs} with the overlay on rootfs. Holds the
// shared store lock for its whole life, so no prune removes its lower snapshots or its dir.
class BuildMount : public build::Mounted {
 public:
  BuildMount(store::Lock lock, fs::path dir, RootfsMount mount, std::vector<build::Layer> layers)
      : lock_(std::move(lock)),
        dir_(std::move(dir)),
        root_(mount.path()),
        mount_(std::move(mount)),
        layers_(std::move(layers)) {}
  ~BuildMount() override;

  const fs::path& root() const override { return root_; }
  const fs::path& dir() const { return dir_; }
  fs::path upper() const { return dir_ / "upper"; }
  const std::vector<build::Layer>& layers() const { return layers_; }
  Result<void> unmount() { return mount_.unmount(); }
  std::vector<CopiedUpDir>& copiedUp() { return copied_up_; }

 private:
  store::Lock lock_;
  fs::path dir_;
  fs::path root_;
  RootfsMount mount_;
  std::vector<build::Layer> layers_;
  std::vector<CopiedUpDir> copied_up_;
};

// The CDI devices of a step (RUN --device), planned as `hull run --device` plans them, for a
// process with `process.env` (build_devices.cc). An optional device that no spec can give is
// left out with a word to request.warn.
Result<oci::SpecEdit> stepDevices(const build::RunRequest& request, const oci::Process& process,
                                  const RootfsView& rootfs);

// What a device's ld cache hook writes into a step's root -- soname links to the driver's
// libraries (which are mounts, absent from the image), /etc/ld.so.conf.d/000-hull-gpu.conf, and
// the ld cache and ld.so.conf when the image had none -- taken out again after the step, so
// the layer holds no dangling links into a driver. Made before the step runs.
class DeviceLeftovers {
 public:
  DeviceLeftovers(int root_fd, const oci::SpecEdit& edit);
  void remove();

 private:
  struct Dir {
    std::string path;                // relative to the root
    std::vector<std::string> names;  // what it held before the step (sorted)
    bool existed = false;
  };
  // Removes the new links in `d` whose target's name is in `gone` (sorted), adding their names.
  bool removeLinks(const Dir& d, std::vector<std::string>& gone);

  int root_fd_;
  std::vector<std::string> driver_names_;  // file names of the edit's mount destinations
  std::vector<Dir> dirs_;
  bool had_cache_ = false, had_conf_ = false, had_conf_d_ = false, had_hull_conf_ = false;
  struct stat etc_before_ {};
};

// Runs one RUN step in a mounted root (build_run.cc).
Result<int> runStep(const store::Store& store, BuildMount& root, const build::RunRequest& request);

}  // namespace hull::engine::detail
