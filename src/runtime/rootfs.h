// The container's file system view, built inside init's new mount namespace before pivot_root:
// spec mounts in order, device nodes, pivot_root, then masked and read-only paths. Every
// destination is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT), so a symlink in the
// image cannot send a mount to the host (STYLE.md rule 5).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"
#include "runtime/cgroup.h"

namespace hull::runtime {

struct RootfsPlan {
  const oci::RuntimeSpec* spec = nullptr;
  std::filesystem::path rootfs;  // absolute
  CgroupSystem cgroups;
  std::string cgroup_path;  // "/hull/<id>"
  bool cgroup_namespace = false;
  bool no_pivot = false;
  // Runs once the mounts and devices are in place, before pivot_root (the hooks' moment).
  std::function<Result<void>()> before_pivot;
};

// Resolves `path` inside the directory `root` (RESOLVE_IN_ROOT): "..", absolute symlinks and
// magic links cannot leave it.
Result<UniqueFd> openInRoot(int root, const std::string& path, int flags);
// Resolves a directory inside `root`, making missing components (mode 0755).
Result<UniqueFd> makeDirsInRoot(int root, const std::string& path);

// Runs in init, in its own mount namespace, with the host's / still visible.
Result<void> setupRootfs(const RootfsPlan& plan);
// Binds the pty slave (a path inside the new root) over /dev/console.
Result<void> bindConsole(const std::string& slave_path);

}  // namespace hull::runtime
