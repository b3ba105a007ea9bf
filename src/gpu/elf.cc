#include "gpu/elf.h"

namespace hull::gpu {

Result<std::optional<std::string>> elfSoname(std::string_view bytes) {
  return fail(Errc::kUnsupported, "not yet");
}
Result<std::optional<std::string>> elfSonameOfFile(const fs::path& path) {
  return fail(Errc::kUnsupported, "not yet");
}

}  // namespace hull::gpu
