#include "gpu/driver.h"

namespace hull::gpu {

std::string_view capabilityName(Capability c) { return {}; }
Result<std::set<Capability>> parseCapabilities(std::string_view list) {
  return fail(Errc::kUnsupported, "not yet");
}
std::string capabilitiesString(const std::set<Capability>& caps) { return {}; }
std::vector<std::string> Driver::library_dirs() const { return {}; }
Result<Driver> discoverDriver(const DiscoverOptions& options) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<Version> parseProcDriverVersion(std::string_view text) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<GpuInformation> parseGpuInformation(std::string_view text) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::gpu
