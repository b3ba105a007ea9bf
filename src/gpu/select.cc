#include "gpu/select.h"

namespace hull::gpu {

Result<GpuRequest> parseGpusFlag(std::string_view value) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<Selection> selectGpus(const Driver& driver, const GpuRequest& request,
                             const std::vector<std::string>& env) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::gpu
