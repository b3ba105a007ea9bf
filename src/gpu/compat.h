// Will this image's CUDA run on this host's driver? The image's NVIDIA_REQUIRE_* / CUDA_VERSION
// against the driver, counting the image's forward-compatibility libraries (the cuda-compat
// package: /usr/local/cuda/compat/libcuda.so.<driver version>) when they are valid here. Pure:
// the caller lists the compat directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gpu/require.h"
#include "gpu/version.h"

namespace hull::gpu {

inline constexpr std::string_view kCompatDir = "/usr/local/cuda/compat";

struct CompatLibs {
  std::string dir;              // container path: "/usr/local/cuda/compat"
  Version driver;               // the user-mode driver they carry: libcuda.so.<this>
  std::optional<Version> cuda;  // the CUDA that driver runs (table), when known
};

// The compat libraries among `file_names` (the entries of kCompatDir in the image), usable with
// this host driver: as the toolkit decides, only when their driver is newer (by major) than
// the host's. nullopt otherwise.
std::optional<CompatLibs> usableCompatLibs(const std::vector<std::string>& file_names,
                                           const Version& host_driver);

struct CompatReport {
  bool ok = true;
  bool disabled = false;              // NVIDIA_DISABLE_REQUIRE
  std::optional<Version> image_cuda;  // from NVIDIA_REQUIRE_CUDA's cuda>= or CUDA_VERSION
  Version host_driver;
  std::optional<Version> host_cuda;
  std::optional<CompatLibs> compat;  // used for the check (and to be injected first)
  std::optional<Version> needed_driver;
  // One line. Refusal: "image needs CUDA >= 12.6 (NVIDIA_REQUIRE_CUDA=cuda>=12.6), but host
  // driver 535.104.05 supports CUDA <= 12.2: install driver >= 560.28.03, add the cuda-compat
  // package to the image, or set NVIDIA_DISABLE_REQUIRE=1 to skip this check". Success: "ok:
  // CUDA 12.2 image, driver 550.54.14 (CUDA 12.4)".
  std::string message;
};

// kInvalidArgument only for a malformed NVIDIA_REQUIRE_* value.
Result<CompatReport> checkCompatibility(const std::vector<std::string>& image_env,
                                        const HostFacts& host,
                                        const std::optional<CompatLibs>& compat);

}  // namespace hull::gpu
