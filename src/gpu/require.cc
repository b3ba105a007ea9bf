#include "gpu/require.h"

namespace hull::gpu {

Result<Requirements> requirementsFromEnv(const std::vector<std::string>& env) {
  return fail(Errc::kUnsupported, "not yet");
}
bool needsGpuFacts(const Requirements& requirements) { return false; }
Verdict checkRequirements(const Requirements& requirements, const HostFacts& host) { return {}; }

}  // namespace hull::gpu
