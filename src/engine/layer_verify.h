// The diff-ID check of a pulled layer, made before its first unpack rather than during the pull
// (containerd's choice; docs/registry.md says why). A pull verifies each blob's digest; the
// config's diff IDs name the snapshots (chain IDs), so a layer must be shown to decompress to its
// diff ID before a snapshot is made from it under that name.
#pragma once

#include "base/digest.h"
#include "base/result.h"
#include "store/store.h"

namespace hull::engine {

// Ok when the layer blob's uncompressed stream has digest `diff_id`. A layer record for that diff
// ID answers at once; otherwise the blob is decompressed and hashed once and, when it matches,
// the record (diff ID and uncompressed size) is written so that later checks, `hull images` and
// `hull save` need not decompress it again. A mismatch is kCorrupt naming both digests.
Result<void> verifyLayerDiffId(const store::Store& store, const Digest& blob,
                               const Digest& diff_id);

}  // namespace hull::engine
