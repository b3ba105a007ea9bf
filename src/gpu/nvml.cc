#include "gpu/nvml.h"

namespace hull::gpu {

Result<NvmlInfo> queryNvml(const std::string& library_path) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<Version> queryLibcudaVersion(const std::string& library_path) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::gpu
