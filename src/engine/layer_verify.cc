// Decompress-and-hash check of a layer blob against an image config's diff ID (layer_verify.h).
#include "engine/layer_verify.h"

#include <vector>

#include <fmt/format.h>

#include "layer/layer.h"

namespace hull::engine {
namespace {

constexpr std::size_t kMeasureBufferSize = 1 << 20;

// The digest and size of the blob's uncompressed stream. The blob is read through BlobReader, so
// a blob damaged on disk since it was stored fails here too.
Result<store::LayerRecord> measureLayer(const store::Store& store, const Digest& blob) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader reader, store.openBlob(blob));
  auto raw = layer::funcReader([&reader](void* p, std::size_t n) { return reader.read(p, n); });
  HULL_ASSIGN_OR_RETURN(auto tar, layer::decompressingReader(*raw));
  Sha256 hash;
  int64_t size = 0;
  std::vector<char> buf(kMeasureBufferSize);
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, tar->read(buf.data(), buf.size()));
    if (n == 0) break;
    hash.update(buf.data(), n);
    size += static_cast<int64_t>(n);
  }
  return store::LayerRecord{.diff_id = hash.finish(), .size = size};
}

}  // namespace

Result<void> verifyLayerDiffId(const store::Store& store, const Digest& blob,
                               const Digest& diff_id) {
  // Records are written only from content that was hashed, so one naming this diff ID is proof.
  // One naming another diff ID is not trusted either way: the content decides.
  if (auto record = store.layerRecord(blob); record && record->diff_id == diff_id) return {};
  auto measured = measureLayer(store, blob);
  if (!measured) return fail(measured.error().wrap("layer " + blob.str()));
  if (measured->diff_id != diff_id) {
    return fail(
        Errc::kCorrupt,
        fmt::format("layer {}: uncompressed content has digest {}, the image config says {}",
                    blob.str(), measured->diff_id.str(), diff_id.str()));
  }
  // Best effort: without the record the next check decompresses again, and nothing is wrong.
  (void)store.putLayerRecord(blob, *measured);
  return {};
}

}  // namespace hull::engine
