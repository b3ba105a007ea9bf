#include "gpu/inject.h"

namespace hull::gpu {

oci::SpecEdit gpuSpecEdit(const Driver& driver, const Selection& selection,
                          const InjectOptions& options) {
  return {};
}
std::vector<std::string> ldcacheHookArgs(const std::string& hook_binary,
                                         const std::vector<std::string>& folders) {
  return {};
}

}  // namespace hull::gpu
