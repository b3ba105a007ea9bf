// A driver and a selection -> the runtime spec edit that gives a container its GPUs, as the
// NVIDIA Container Toolkit does: the chosen GPUs' device nodes and the control nodes, device
// cgroup rules for them only, read-only bind mounts of the selected capabilities' libraries,
// binaries, firmware and IPC sockets, NVIDIA_VISIBLE_DEVICES / NVIDIA_DRIVER_CAPABILITIES, and a
// createContainer hook (`hull gpu hook update-ldcache`) that makes the soname links and
// refreshes the container's ld cache. Pure.
#pragma once

#include <optional>
#include <string>

#include "gpu/compat.h"
#include "gpu/driver.h"
#include "gpu/select.h"
#include "oci/spec_edit.h"

namespace hull::gpu {

struct InjectOptions {
  std::string hook_binary;           // absolute path of the hull executable run as the hook
  std::optional<CompatLibs> compat;  // listed first in the ld cache when set
};

oci::SpecEdit gpuSpecEdit(const Driver& driver, const Selection& selection,
                          const InjectOptions& options);

// The hook's command line (argv, argv[0] included) for these library folders: `hull-gpu-hook
// update-ldcache --folder ...`, or `hull gpu hook update-ldcache ...` when hook_binary is hull.
std::vector<std::string> ldcacheHookArgs(const std::string& hook_binary,
                                         const std::vector<std::string>& folders);

}  // namespace hull::gpu
