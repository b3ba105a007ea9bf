#include "gpu/version.h"

namespace hull::gpu {

std::string Version::str() const { return {}; }
std::strong_ordering operator<=>(const Version& a, const Version& b) { return a.parts <=> b.parts; }
Result<Version> parseVersion(std::string_view text) { return fail(Errc::kUnsupported, "not yet"); }
Version cudaFromInt(int encoded) { return {}; }

}  // namespace hull::gpu
