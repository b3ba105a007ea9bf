// `hull builder prune` (build.h): the build cache's records and cache mounts, then what only they
// kept — layer blobs (store prune) and the snapshots no image needs.
#include <system_error>

#include "build/cache.h"
#include "engine/build.h"
#include "engine/prune_containers.h"
#include "engine/snapshot_gc.h"

namespace hull::engine {

Result<BuilderPruneReport> pruneBuildCache(const store::Store& store, bool dry_run) {
  // One exclusive hold for every step: no build starts between clearing the records and
  // sweeping what they kept (the steps below nest their own locks inside this one).
  HULL_ASSIGN_OR_RETURN(store::Lock held, store.lock(store::LockMode::kExclusive));
  build::Cache cache(store);
  BuilderPruneReport report;
  // 1. The cache mounts' directories (measured first: clear removes them).
  report.bytes += treeBytes(store.root() / "cache" / "mounts");
  // 2. The records.
  HULL_ASSIGN_OR_RETURN(report.records, cache.clear(dry_run));
  // 3. The blobs only the records kept. A dry run leaves the records, so it asks prune to look
  //    past them instead.
  store::PruneOptions options;
  options.dry_run = dry_run;
  options.cache_roots = !dry_run;
  HULL_ASSIGN_OR_RETURN(store::PruneReport blobs, store.prune(options));
  report.bytes += blobs.bytes_freed;
  // 4. Snapshots: a build's steps unpack into snapshots/ as images do; those no image needs go.
  HULL_ASSIGN_OR_RETURN(SnapshotPrune snapshots, pruneSnapshots(store, dry_run));
  report.bytes += snapshots.bytes_freed;
  return report;
}

}  // namespace hull::engine
