// Use cases over the names and images in the local store: list, inspect, history, tag, remove,
// and the all-or-nothing name changes that import and load end with.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/json.h"
#include "base/result.h"
#include "oci/image.h"
#include "store/store.h"

namespace hull::engine {

// One image (a name, or an untagged image: empty record.name) with its verified manifest and
// config.
struct ImageView {
  store::ImageRecord record;
  oci::Manifest manifest;
  oci::ImageConfig config;
  Json raw_config;  // the config as stored, for fields the typed config does not keep
  Digest id;        // the config digest: Docker's image ID
  // The image's size, as Docker shows it: the bytes of its uncompressed layers when hull knows
  // every one (layer records, or layers stored uncompressed), else of its layer blobs as stored
  // (see docs/commands/images.md). layer_sizes holds the same kind of size for each layer.
  int64_t size = 0;
  std::vector<int64_t> layer_sizes;
  bool uncompressed_size = false;
};

Result<ImageView> loadImageView(const store::Store& store, const store::ImageRecord& record);

// Every name and every untagged image whose manifest has no name (Docker's dangling images),
// newest image first (then by name, untagged first). `filter` is "", "REPO" (every tag) or
// "REPO:TAG" and leaves untagged images out. `dangling` keeps only untagged images (true) or
// only named ones (false).
Result<std::vector<ImageView>> listImages(const store::Store& store, std::string_view filter = {},
                                          std::optional<bool> dangling = std::nullopt);

// Resolves a name, a full or short image ID, or a manifest digest.
Result<ImageView> resolveImage(const store::Store& store, std::string_view ref);

// Splits a stored name into repository and tag ("<none>" when the name has a digest only; both
// "<none>" for the empty name of an untagged image).
std::pair<std::string, std::string> splitName(std::string_view name);

// `hull inspect`: Docker's image object (Id, RepoTags, Config, RootFS, ...) plus Manifest and
// ManifestDigest.
Result<OrderedJson> inspectImage(const store::Store& store, std::string_view ref);

struct HistoryRow {
  std::string id;  // image ID on the newest row, "<missing>" on the others
  std::string created;
  std::string created_by;
  int64_t size = 0;
  std::string comment;
};
// Newest entry first; non-empty history entries take the image's layers in order.
Result<std::vector<HistoryRow>> imageHistory(const store::Store& store, std::string_view ref);

// --- changes (each takes the store lock itself) ---

// One change to index.json: point `name` at `manifest`, or remove it when manifest is empty. An
// empty name keeps `manifest` as an untagged image (store::Store::keep).
struct NameChange {
  std::string name;
  std::optional<oci::Descriptor> manifest;
};
// Applies every change or none: on a failure the names already changed are put back.
Result<void> applyNameChanges(const store::Store& store, const std::vector<NameChange>& changes);

// The end of every command that adds an image: under the shared lock, checks that the blobs the
// new names need are there (a prune may have run if the caller dropped its lock), then applies
// the changes all or nothing.
Result<void> publishNames(const store::Store& store, const std::vector<NameChange>& changes,
                          const std::vector<Digest>& needed);

// Every blob reachable from an index.json entry, named or untagged: manifests (and nested
// indexes), configs, layers.
Result<std::set<Digest>> referencedBlobs(const store::Store& store);

Result<std::string> tagImage(const store::Store& store, std::string_view source,
                             std::string_view target);

struct RemoveReport {
  std::vector<std::string> untagged;
  std::vector<Digest> deleted;  // the image ID first, then its layers that were removed
};
// `hull rmi REF`: a name removes that name; an image ID (or manifest digest) removes all of its
// names and its untagged entries, which needs `force` when the names span several repositories.
// Unreferenced blobs are then collected (other untagged images are kept).
Result<RemoveReport> removeImage(const store::Store& store, std::string_view ref, bool force);

}  // namespace hull::engine
