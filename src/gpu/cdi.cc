#include "gpu/cdi.h"

namespace hull::gpu {

Result<CdiSpec> parseCdiSpec(std::string_view text, std::string_view file) {
  return fail(Errc::kUnsupported, "not yet");
}
std::string cdiSpecToJson(const CdiSpec& spec) { return {}; }
std::string cdiSpecToYaml(const CdiSpec& spec) { return {}; }
std::vector<std::string> defaultCdiSpecDirs() { return {}; }
CdiRegistry loadCdiSpecs(const std::vector<std::string>& dirs) { return {}; }
bool isCdiDeviceName(std::string_view name) { return false; }
Result<HostNode> statHostNode(const std::string& host_path) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<oci::SpecEdit> resolveCdiDevices(const CdiRegistry& registry,
                                        const std::vector<std::string>& names,
                                        const StatNode& stat) {
  return fail(Errc::kUnsupported, "not yet");
}
CdiSpec generateCdiSpec(const Driver& driver, const std::string& hook_binary) { return {}; }

}  // namespace hull::gpu
