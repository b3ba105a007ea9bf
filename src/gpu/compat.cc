#include "gpu/compat.h"

namespace hull::gpu {

std::optional<CompatLibs> usableCompatLibs(const std::vector<std::string>& file_names,
                                           const Version& host_driver) {
  return {};
}
Result<CompatReport> checkCompatibility(const std::vector<std::string>& image_env,
                                        const HostFacts& host,
                                        const std::optional<CompatLibs>& compat) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::gpu
