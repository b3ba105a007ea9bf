// How the snapshots under <root>/snapshots are named (engine/rootfs.h): shared by rootfs.cc, which
// makes them, the build executor, which keeps a build step's upper dir as one, and
// snapshot_gc.cc, which removes them. Not part of the engine's contract.
#pragma once

#include <cstddef>
#include <string_view>

namespace hull::engine::detail {

// The length of a snapshot's short link name (snapshots/l/<short>): a prefix of its name.
inline constexpr std::size_t kShortIdLength = 24;
// The lower dir of an image without layers.
inline constexpr std::string_view kEmptySnapshot = "empty";

}  // namespace hull::engine::detail
