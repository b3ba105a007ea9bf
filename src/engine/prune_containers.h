// `hull container prune` and the container half of `hull system prune` and `hull system df`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace hull::engine {

struct ContainerPruneReport {
  std::vector<std::string> removed;  // full IDs, newest first
  int64_t bytes_freed = 0;           // bytes of their directories (logs, upper dirs, ...)
};

// Removes (or with dry_run only lists) every exited container, as `docker container prune`
// removes stopped ones; a record that says running but whose monitor is gone counts as exited.
// Containers that are being created (a `hull run` between making the record and starting the
// process) or running stay. Anonymous volumes stay too, as Docker keeps them (volume prune).
Result<ContainerPruneReport> pruneContainers(const store::Store& store, bool dry_run);

// The image half of `hull system prune`: Store::prune with its dangling (untagged) images, except
// those a remaining container was made from, which stay as Docker keeps images in use. Takes the
// exclusive store lock unless this process holds it. A dry run that keeps such an image does not
// count the blobs of the dangling images it lists.
Result<store::PruneReport> pruneImages(const store::Store& store, bool dry_run);

struct ContainerUsage {
  int64_t total = 0;
  int64_t active = 0;       // running
  int64_t bytes = 0;        // writable layers: every container's upper dir
  int64_t reclaimable = 0;  // the upper dirs of containers that do not run
};
Result<ContainerUsage> containerUsage(const store::Store& store);

// Bytes of regular files under dir, a hard-linked file once; 0 when it does not exist.
int64_t treeBytes(const fs::path& dir);

}  // namespace hull::engine
