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

// Runs one RUN step in a mounted root (build_run.cc).
Result<int> runStep(const store::Store& store, BuildMount& root, const build::RunRequest& request);

}  // namespace hull::engine::detail
