#include "engine/gpu.h"

namespace hull::engine {

Result<oci::SpecEdit> planGpus(const GpuAsk& ask, const std::vector<std::string>& env,
                               const RootfsView& rootfs, const GpuHost& host) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<GpuInfo> gpuInfo(const GpuHost& host) { return fail(Errc::kUnsupported, "not yet"); }
Result<gpu::CompatReport> checkImageGpu(const store::Store& store, std::string_view image,
                                        const GpuHost& host) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<gpu::CdiSpec> generateCdi(const GpuHost& host) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::engine
