// The build cache: canonical step keys and the records that map a key to the layer its step
// made (docs/build-cache.md). A key is the digest of the parent's key, the canonical step and the
// digests of its inputs — never timestamps, host paths or proxy settings (STYLE.md rule 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/json.h"
#include "base/result.h"
#include "build/build.h"
#include "store/store.h"

namespace hull::build {

// Accumulates named fields into a key. Each field is length-prefixed, so no two different field
// lists give the same bytes.
class KeyBuilder {
 public:
  explicit KeyBuilder(std::string_view kind);  // "run", "copy", "from", ...
  KeyBuilder& add(std::string_view name, std::string_view value);
  KeyBuilder& add(std::string_view name, const Digest& value);
  KeyBuilder& add(std::string_view name, const std::vector<std::string>& values);
  Digest finish() const;

 private:
  std::string bytes_;
};

// The key a stage starts from: its base image's manifest digest ("scratch" for none).
Digest baseKey(const std::optional<Digest>& base_manifest);

// What a step made: its layer, or none (the step changed no file).
struct CacheRecord {
  Digest key;
  std::optional<Layer> layer;
  std::string created_by;  // the history line, for people reading the cache
  // When the step ran (RFC 3339). A cached step keeps it, so a fully cached rebuild gives the
  // same history, config and image ID (BuildKit does the same). "" in older records.
  std::string created;
};

// Records live in <root>/cache/records/<key-hex>.json, written atomically; the store's prune
// keeps the blobs they name (they are roots, like images), `hull builder prune` removes them.
class Cache {
 public:
  explicit Cache(const store::Store& store) : store_(&store) {}
  // The record for key, if there is one whose layer blob is still in the store.
  std::optional<CacheRecord> lookup(const Digest& key) const;
  Result<void> put(const CacheRecord& record) const;
  // Removes every record (and the cache mounts' directories); returns how many records went.
  Result<int64_t> clear(bool dry_run) const;
  // Where RUN --mount=type=cache,id=ID keeps its files: <root>/cache/mounts/<sha256(id)-hex>.
  fs::path mountDir(std::string_view id) const;

 private:
  const store::Store* store_;
};

Json toJson(const CacheRecord& r);
Result<CacheRecord> cacheRecordFromJson(const Json& j);

}  // namespace hull::build
