// `hull save`: images as a docker-archive (the classic `docker save` layout every loader reads)
// or an OCI image layout in a tar. See docs/archive-formats.md.
#pragma once

#include <string>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "engine/archive.h"
#include "store/store.h"

namespace hull::engine {

struct SaveOptions {
  ArchiveFormat format = ArchiveFormat::kDocker;
  std::vector<std::string> refs;  // names, image IDs or manifest digests
};

// Streams the archive to fd (a pipe is fine: nothing seeks).
Result<void> saveImages(const store::Store& store, const SaveOptions& options, int fd);

// Writes the archive to path atomically: a failed save leaves no file behind.
Result<void> saveImagesToFile(const store::Store& store, const SaveOptions& options,
                              const fs::path& path);

}  // namespace hull::engine
