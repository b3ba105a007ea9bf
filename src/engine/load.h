// `hull load`: a docker-archive or an OCI archive (plain, gzip or zstd) into the store. The
// archive is read in one pass, every entry streamed into the store's ingest; only when every blob
// is verified are the names tagged. See docs/archive-formats.md.
#pragma once

#include <string>
#include <vector>

#include "base/digest.h"
#include "base/result.h"
#include "store/store.h"

namespace hull::engine {

struct LoadResult {
  std::vector<std::string> names;  // normalized, in archive order
  // The image IDs of the images the archive gives no name, kept untagged (Docker's "Loaded
  // image ID"), in archive order.
  std::vector<Digest> untagged;
};

// Reads the archive from fd. On failure nothing is tagged and the blobs this load added that
// nothing references are removed (when the exclusive lock is free; else `system prune` will).
Result<LoadResult> loadArchive(const store::Store& store, int fd);

}  // namespace hull::engine
