// What `hull gpu info` shows and arch/brand requirements need, from NVML
// (libnvidia-ml.so.1 under the driver root, loaded with dlopen: hull does not link it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "gpu/version.h"

namespace hull::gpu {

struct NvmlGpu {
  int index = 0;
  int minor = -1;
  std::string name;   // "NVIDIA H200"
  std::string uuid;   // "GPU-..."
  std::string brand;  // lower case: "tesla", "nvidia", "geforce", "quadro", ... ("unknown")
  std::string pci_bus_id;
  uint64_t memory_total = 0;   // bytes
  Version compute_capability;  // "9.0"
};

struct NvmlInfo {
  std::string driver_version;  // nvmlSystemGetDriverVersion
  Version cuda;                // nvmlSystemGetCudaDriverVersion_v2
  std::vector<NvmlGpu> gpus;
};

// Loads the library at `library_path`, initialises NVML, reads everything, shuts it down and
// unloads. Errors name the NVML function and its error string.
Result<NvmlInfo> queryNvml(const std::string& library_path);

// cuDriverGetVersion from libcuda at `library_path` (no cuInit needed).
Result<Version> queryLibcudaVersion(const std::string& library_path);

}  // namespace hull::gpu
