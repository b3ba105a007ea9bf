// Which driver runs which CUDA: the CUDA toolkit's release notes table "CUDA Toolkit and
// Corresponding Driver Versions" (minimum Linux x86_64 driver of each toolkit's GA release),
// kept as data in cuda_table.cc with its source beside every row.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "gpu/version.h"

namespace hull::gpu {

struct CudaDriverRow {
  Version cuda;        // "12.4"
  Version min_driver;  // "550.54.14"
  std::string_view source;
};

// Oldest CUDA first.
std::span<const CudaDriverRow> cudaDriverTable();

// The oldest driver that runs this CUDA (by major.minor); nullopt for a CUDA newer than the
// table knows.
std::optional<Version> minimumDriverFor(const Version& cuda);

// The newest CUDA this driver runs according to the table; nullopt for a driver older than the
// first row.
std::optional<Version> cudaForDriver(const Version& driver);

}  // namespace hull::gpu
