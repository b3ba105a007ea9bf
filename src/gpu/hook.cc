#include "gpu/hook.h"

namespace hull::gpu {

Result<void> runLdcacheHook(const LdcacheHookOptions& options, std::string_view state_json) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::gpu
