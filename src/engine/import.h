// `hull import`: a root file system tarball becomes a one-layer image.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/json.h"
#include "base/result.h"
#include "layer/layer.h"
#include "oci/image.h"
#include "store/store.h"

namespace hull::engine {

struct ImportOptions {
  std::string name;                  // NAME[:TAG]; empty keeps the image untagged
  std::vector<std::string> changes;  // Dockerfile instructions (--change)
  std::string message;               // --message: the history comment
  std::string source = "-";          // where the tarball came from, for the default comment
  std::string platform;              // "os/arch[/variant]"; empty means the host's
};

struct ImportResult {
  Digest id;  // the config digest
  oci::Descriptor manifest;
  std::string name;  // normalized
};

// Parses "linux/amd64", "linux/arm64/v8" into a platform.
Result<oci::Platform> parsePlatform(std::string_view text);

// The config of a one-layer image: the platform, the creation time (seconds since the epoch)
// and one history entry, made by `created_by`, at that time.
oci::ImageConfig oneLayerConfig(const oci::Platform& platform, int64_t created,
                                const Digest& diff_id, std::string created_by);

// Stores the config and the manifest of a one-layer image whose layer is already committed, and
// points `name` at it (an empty name keeps the image untagged).
Result<ImportResult> publishOneLayerImage(const store::Store& store, const std::string& name,
                                          const Json& config, const oci::Descriptor& layer);

// Builds the image config of an import (exposed for tests: nothing is written).
Result<oci::ImageConfig> importConfig(const ImportOptions& options, const Digest& diff_id);

// Reads the tarball (plain, gzip or zstd) from `in`, stores it as a gzip layer, writes the config
// and manifest, and tags the name (or keeps the image untagged).
Result<ImportResult> importImage(const store::Store& store, layer::Reader& in,
                                 const ImportOptions& options);

}  // namespace hull::engine
