// GPUs for containers and build steps: `--gpus` (the driver found under the driver root) and
// CDI device names (`--device nvidia.com/gpu=0`) become one oci::SpecEdit, after the image's
// CUDA requirements have been checked against the host driver. Also the data behind `hull gpu
// info` and `hull gpu check`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/rootfs_view.h"
#include "engine/run_options.h"
#include "gpu/cdi.h"
#include "gpu/compat.h"
#include "gpu/driver.h"
#include "gpu/nvml.h"
#include "oci/image.h"
#include "oci/spec_edit.h"
#include "store/store.h"

namespace hull::engine {

// Where hull looks: the driver root and CDI directories, and the hull executable that runs as
// the ld cache hook.
struct GpuHost {
  std::string driver_root;            // empty: HULL_DRIVER_ROOT, else the usual roots
  std::vector<std::string> cdi_dirs;  // empty: gpu::defaultCdiSpecDirs()
  std::string hook_binary;            // empty: this executable (/proc/self/exe resolved)
};

struct GpuAsk {
  std::string gpus;                      // --gpus value ("" = none)
  std::vector<std::string> cdi_devices;  // --device values that are CDI names
  bool any() const { return !gpus.empty() || !cdi_devices.empty(); }
};

// What `hull run` asks for: --gpus, and the --device values that are CDI names (the others are
// host device nodes, planned with the rest of the run flags).
GpuAsk gpuAsk(const RunOptions& options);

// The edit for a container whose process env is `env` (image env + -e, "K=V"), with its
// rootfs at `rootfs` (for the image's compat libraries). Refuses -- before anything is
// created -- an image whose CUDA this driver cannot run. Errors are one line.
Result<oci::SpecEdit> planGpus(const GpuAsk& ask, const std::vector<std::string>& env,
                               const RootfsView& rootfs, const GpuHost& host);

// `hull gpu info`
struct GpuInfo {
  gpu::Driver driver;
  std::optional<gpu::NvmlInfo> nvml;  // nullopt when NVML could not be loaded
  std::string nvml_error;
  gpu::CdiRegistry cdi;
  std::vector<std::string> cdi_dirs;
};
Result<GpuInfo> gpuInfo(const GpuHost& host);

// `hull gpu check IMAGE`: the compatibility report for a local image (its compat libraries
// read from its layers' unpacked snapshot).
Result<gpu::CompatReport> checkImageGpu(const store::Store& store, std::string_view image,
                                        const GpuHost& host);

// `hull gpu cdi generate`
Result<gpu::CdiSpec> generateCdi(const GpuHost& host);

}  // namespace hull::engine
