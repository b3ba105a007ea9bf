// Helpers shared by the gpu tests.
#pragma once

#include "gpu/version.h"

namespace hull::gpu::testing {

// A version written in a test ("550.54.14"); the text must parse.
inline Version ver(const char* text) { return *parseVersion(text); }

}  // namespace hull::gpu::testing
