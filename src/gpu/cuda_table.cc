#include "gpu/cuda_table.h"

namespace hull::gpu {

std::span<const CudaDriverRow> cudaDriverTable() { return {}; }
std::optional<Version> minimumDriverFor(const Version& cuda) { return {}; }
std::optional<Version> cudaForDriver(const Version& driver) { return {}; }

}  // namespace hull::gpu
