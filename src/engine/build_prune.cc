// `hull builder prune` (build.h): the build cache's records and cache mounts, then what only they
// kept — layer blobs (store prune) and the snapshots no image needs.
#include <sys/stat.h>

#include <set>
#include <system_error>
#include <utility>

#include "build/cache.h"
#include "engine/build.h"
#include "engine/snapshot_gc.h"

namespace hull::engine {
namespace {

// Bytes of the regular files under dir, a hard-linked file counted once.
int64_t treeBytes(const fs::path& dir) {
  std::set<std::pair<dev_t, ino_t>> seen;
  int64_t total = 0;
  std::error_code ec;
  auto it =
      fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (seen.insert({st.st_dev, st.st_ino}).second) total += st.st_size;
  }
  return total;
}

}  // namespace

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
