#include "gpu/cuda_table.h"

#include <cstdlib>
#include <vector>

namespace hull::gpu {
namespace {

// NVIDIA CUDA Toolkit Release Notes, Table 3 "CUDA Toolkit and Corresponding Driver Versions",
// Linux x86_64 column, the GA row of each toolkit (updates may need a newer driver; the GA
// minimum is what a toolkit's major.minor needs). There was no CUDA 12.7. The `source` of each
// row is the release notes' row as printed.
struct RawRow {
  const char* cuda;
  const char* driver;
  std::string_view source;
};

#define HULL_CUDA_NOTES \
  "CUDA Toolkit Release Notes, \"CUDA Toolkit and Corresponding Driver Versions\": "
constexpr RawRow kRows[] = {
    {"9.0", "384.81", HULL_CUDA_NOTES "CUDA 9.0 (9.0.76) >= 384.81"},
    {"9.1", "390.46", HULL_CUDA_NOTES "CUDA 9.1 (9.1.85) >= 390.46"},
    {"9.2", "396.26", HULL_CUDA_NOTES "CUDA 9.2 (9.2.88) >= 396.26"},
    {"10.0", "410.48", HULL_CUDA_NOTES "CUDA 10.0.130 >= 410.48"},
    {"10.1", "418.39",
     HULL_CUDA_NOTES "CUDA 10.1 (10.1.105 general release, and updates) >= 418.39"},
    {"10.2", "440.33", HULL_CUDA_NOTES "CUDA 10.2.89 >= 440.33"},
    {"11.0", "450.51.05", HULL_CUDA_NOTES "CUDA 11.0.2 GA >= 450.51.05"},
    {"11.1", "455.23", HULL_CUDA_NOTES "CUDA 11.1 GA >=455.23"},
    {"11.2", "460.27.03", HULL_CUDA_NOTES "CUDA 11.2.0 GA >=460.27.03"},
    {"11.3", "465.19.01", HULL_CUDA_NOTES "CUDA 11.3.0 GA >=465.19.01"},
    {"11.4", "470.42.01", HULL_CUDA_NOTES "CUDA 11.4.0 GA >=470.42.01"},
    {"11.5", "495.29.05", HULL_CUDA_NOTES "CUDA 11.5 GA >=495.29.05"},
    {"11.6", "510.39.01", HULL_CUDA_NOTES "CUDA 11.6 GA >=510.39.01"},
    {"11.7", "515.43.04", HULL_CUDA_NOTES "CUDA 11.7 GA >=515.43.04"},
    {"11.8", "520.61.05", HULL_CUDA_NOTES "CUDA 11.8 GA >=520.61.05"},
    {"12.0", "525.60.13", HULL_CUDA_NOTES "CUDA 12.0 GA >=525.60.13"},
    {"12.1", "530.30.02", HULL_CUDA_NOTES "CUDA 12.1 GA >=530.30.02"},
    {"12.2", "535.54.03", HULL_CUDA_NOTES "CUDA 12.2 GA >=535.54.03"},
    {"12.3", "545.23.06", HULL_CUDA_NOTES "CUDA 12.3 GA >=545.23.06"},
    {"12.4", "550.54.14", HULL_CUDA_NOTES "CUDA 12.4 GA >=550.54.14"},
    {"12.5", "555.42.02", HULL_CUDA_NOTES "CUDA 12.5 GA >=555.42.02"},
    {"12.6", "560.28.03", HULL_CUDA_NOTES "CUDA 12.6 GA >=560.28.03"},
    {"12.8", "570.26", HULL_CUDA_NOTES "CUDA 12.8 GA >=570.26"},
    {"12.9", "575.51.03", HULL_CUDA_NOTES "CUDA 12.9 GA >=575.51.03"},
    {"13.0", "580.65.06", HULL_CUDA_NOTES "CUDA 13.0 GA >=580.65.06"},
    {"13.1", "590.44.01", HULL_CUDA_NOTES "CUDA 13.1 GA >=590.44.01"},
    {"13.2", "595.45.04", HULL_CUDA_NOTES "CUDA 13.2 GA >=595.45.04"},
};
#undef HULL_CUDA_NOTES

// The rows are literals checked by the tests; a row that does not parse is a bug in this file.
Version mustParse(const char* text) {
  auto version = parseVersion(text);
  if (!version) std::abort();
  return *std::move(version);
}

std::vector<CudaDriverRow> buildTable() {
  std::vector<CudaDriverRow> rows;
  rows.reserve(std::size(kRows));
  for (const RawRow& raw : kRows) {
    rows.push_back(CudaDriverRow{mustParse(raw.cuda), mustParse(raw.driver), raw.source});
  }
  return rows;
}

Version majorMinor(const Version& v) {
  Version out;
  out.parts = {v.major(), v.minor()};
  return out;
}

}  // namespace

std::span<const CudaDriverRow> cudaDriverTable() {
  static const std::vector<CudaDriverRow> table = buildTable();
  return table;
}

// A CUDA between rows (one the table skips, such as 12.7) takes the next row's driver, and
// one older than the table the first row's: both are drivers that surely run it.
std::optional<Version> minimumDriverFor(const Version& cuda) {
  Version wanted = majorMinor(cuda);
  for (const CudaDriverRow& row : cudaDriverTable()) {
    if (row.cuda >= wanted) return row.min_driver;
  }
  return std::nullopt;
}

std::optional<Version> cudaForDriver(const Version& driver) {
  std::optional<Version> newest;
  for (const CudaDriverRow& row : cudaDriverTable()) {
    if (row.min_driver <= driver) newest = row.cuda;
  }
  return newest;
}

}  // namespace hull::gpu
