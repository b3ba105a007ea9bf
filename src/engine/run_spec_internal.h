// Pieces of run_spec.cc shared with its sibling sources; not part of the engine's contract.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/run_spec.h"

namespace hull::engine::detail {

// Go's filepath.Clean for absolute container paths ("/a/../b/" -> "/b"); "" stays "".
std::string cleanPath(std::string_view path);

// Docker's default mounts (/proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue, /dev/shm)
// with /dev/shm sized shm_bytes.
std::vector<oci::Mount> defaultMounts(int64_t shm_bytes);

// Adds the user's mounts (-v, --mount, --tmpfs) and the image's anonymous volumes to the plan:
// spec.mounts gets the default mounts, the /etc files, the init binary (with --init) and the
// user's mounts, sorted by depth as Docker does.
Result<void> planMounts(const oci::ImageConfig& image, const RunOptions& options,
                        const std::string& container_id, const HostEnvironment& host,
                        int64_t shm_bytes, ContainerPlan& plan);

// --device with host paths (Docker's SRC[:DST][:PERMS]): linux.devices and an allow rule each.
// CDI names (vendor.com/class=name) are left to the GPU planning (engine/gpu.h).
Result<void> planHostDevices(const RunOptions& options, const HostEnvironment& host,
                             ContainerPlan& plan);

// HostEnvironment::devices of the real host.
Result<std::vector<HostDevice>> hostDevicesAt(const std::string& path);

// The file names in the container dir that /etc/hostname, /etc/hosts, /etc/resolv.conf bind.
inline constexpr std::string_view kEtcFiles[] = {"hostname", "hosts", "resolv.conf"};

// Splits "a,b,c" (empty items dropped).
std::vector<std::string> splitList(std::string_view s, char sep);

}  // namespace hull::engine::detail
