// Collecting snapshots (`<root>/snapshots/<chain-id-hex>/`, rootfs.h) that nothing needs any more.
//
// A snapshot is kept when
//  - an image in the store (named or untagged; each platform of an index that is present) has
//    its chain ID in its layer chain (an image without layers keeps the "empty" snapshot);
//  - an overlay mount of this mount namespace names it as a lower dir (a running or created
//    container, whatever happened to its image since);
//  - a container that has not exited was made from an image whose config is still readable and
//    has it in its chain.
// When any of this cannot be known (an image or a container's image that cannot be read,
// /proc/self/mountinfo unreadable, a live container whose rootfs is neither mounted here nor
// traceable to its image) nothing is removed: a snapshot kept by mistake costs disk, one removed
// by mistake breaks a container.
//
// Callers hold the store's exclusive lock (Store::lock). `hull run` holds the shared lock from
// resolving its image until its overlay is mounted (prepareContainer), so a run is either wholly
// before a collection (its mount is then in mountinfo) or wholly after (ensureSnapshots unpacks
// again what was removed, from blobs that are still there because its image is).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/result.h"
#include "store/store.h"

namespace hull::engine {

// OCI chain IDs of a layer stack, bottom first: chainid(L0) = diffid(L0),
// chainid(Ln) = sha256(chainid(Ln-1) + " " + diffid(Ln)).
std::vector<Digest> chainIds(const std::vector<Digest>& diff_ids);

// The lower dirs of every overlay mount in a /proc/self/mountinfo text, as the kernel shows
// them (relative "l/<short>" entries stay relative), octal escapes decoded.
std::vector<std::string> overlayLowerDirs(std::string_view mountinfo);

struct SnapshotPrune {
  std::vector<std::string> removed;  // snapshot names (chain-id hex or "empty"), sorted
  int64_t bytes_freed = 0;
  int64_t links_removed = 0;  // dangling short links in snapshots/l
  int64_t total = 0;          // snapshots before the prune
  int64_t kept = 0;
  bool unsure = false;  // something could not be read: nothing was removed
};

// What pruneSnapshots would remove now (for `system df`), under the shared store lock.
Result<SnapshotPrune> planSnapshotPrune(const store::Store& store);

// Removes (or with dry_run only lists) the snapshots nothing needs and the dangling short links.
// Takes the exclusive store lock unless this process holds it.
Result<SnapshotPrune> pruneSnapshots(const store::Store& store, bool dry_run);

}  // namespace hull::engine
