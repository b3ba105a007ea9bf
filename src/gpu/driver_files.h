// The file-system half of driver discovery (driver_files.cc), shared with driver.cc. Internal to
// the gpu module.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "gpu/driver.h"

namespace hull::gpu::detail {

// A driver root opened once; every lookup inside it resolves symlinks as if it were "/"
// (openat2 RESOLVE_IN_ROOT), so a hostile link cannot point discovery outside it.
struct Root {
  std::string path;  // absolute, no trailing slash ("" for "/")
  UniqueFd fd;
  static Result<Root> open(const std::string& path);
  // The host path `rel` ("usr/lib/libcuda.so.1") resolves to, staying inside the root, and
  // its type; nullopt when it does not exist.
  struct Resolved {
    std::string host_path;
    std::string container_path;  // host_path relative to the root, with a leading "/"
    mode_t type = 0;             // S_IFREG, S_IFDIR, ...
  };
  std::optional<Resolved> resolve(const std::string& rel) const;
  std::string hostPath(const std::string& rel) const { return path + "/" + rel; }
};

// Library directories searched under a root, most specific first (relative, no leading slash).
const std::vector<std::string>& libraryDirs();

// The version suffix of libcuda.so.1 (or libnvidia-ml.so.1): the driver's version when there is
// no /proc/driver/nvidia/version to read, as in a driver root copied off a host.
std::optional<std::string> versionFromLibraries(const Root& root);

Result<std::vector<DriverFile>> findLibraries(const Root& root, const std::string& version);
std::vector<DriverFile> findBinaries(const Root& root);
std::vector<DriverFile> findFirmware(const Root& root, const std::string& version);
std::vector<DriverFile> findIpc(const Root& root);
// Control nodes (nvidiactl, nvidia-uvm, ...) under dev_root, those that exist.
std::vector<DeviceNode> findControlNodes(const std::string& dev_root);
DeviceNode gpuNode(const std::string& dev_root, int minor);

}  // namespace hull::gpu::detail
