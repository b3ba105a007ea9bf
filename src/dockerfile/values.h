// Checks of instruction values that Docker makes after variable expansion. Internal to the
// module; errors carry no location.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace hull::dockerfile {

// "80", "80/udp", "8000-8010/tcp" → normalized with its protocol ("80/tcp").
Result<std::string> normalizePort(std::string_view port);
Result<void> validateChmod(std::string_view chmod);
Result<void> validateSignal(std::string_view signal);
Result<void> validateChecksum(std::string_view checksum);
// go-units RAMInBytes: "64m", "1.5GiB", "1024".
Result<int64_t> parseByteSize(std::string_view text);

}  // namespace hull::dockerfile
