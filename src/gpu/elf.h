// The one fact hull needs from a shared library: its DT_SONAME. Reads untrusted files (a driver
// root, an image's compat libraries), so every offset is bounds-checked. ELF64 and ELF32, both
// byte orders.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/fs.h"
#include "base/result.h"

namespace hull::gpu {

// The soname of an ELF shared object held in `bytes`; nullopt when it has none.
// kInvalidArgument for anything that is not a well-formed ELF file.
Result<std::optional<std::string>> elfSoname(std::string_view bytes);

// Reads at most the first 64 MiB of the file (a soname lives near the start of the dynamic
// section, which loaders map early) and calls elfSoname.
Result<std::optional<std::string>> elfSonameOfFile(const fs::path& path);

}  // namespace hull::gpu
