// writeTree: a deterministic tar of a directory: writeDiff's walker without the overlay rules
// (diff.cc): names sorted bytewise, numeric owners only, no user or group names, hard links
// written once, PAX headers where ustar cannot hold a field.
#include "layer/layer.h"

namespace hull::layer {

Result<int64_t> writeTree(const fs::path& root, Writer& out) {
  DiffOptions plain;
  plain.overlay = false;
  plain.xattrs = false;
  return writeDiff(root, out, plain);
}

}  // namespace hull::layer
