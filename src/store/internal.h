// Pieces shared by the store's source files; not part of the module's contract.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/digest.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/image.h"
#include "store/store.h"

namespace hull::store::internal {

// An input quoted for an error message: non-printable bytes escaped, long inputs cut.
std::string printable(std::string_view s, std::size_t max = 512);

// The name an index.json entry carries (org.opencontainers.image.ref.name), or "".
std::string refName(const oci::Descriptor& d);
// The repository of a stored name: "busybox:latest" -> "busybox".
std::string_view repositoryOf(std::string_view name);

// index.json, read (kCorrupt naming the file when it is damaged) and replaced atomically.
Result<oci::Index> loadIndex(const Store& store);
Result<void> saveIndex(const Store& store, const oci::Index& index);
// An exclusive flock on $ROOT/index.lock: serializes read-modify-write of index.json.
Result<UniqueFd> lockIndexFile(const Store& store);

// Walks the blobs reachable from one index.json entry. Manifests and indexes that are present
// are read (verified) and descended into; other blobs are only stat'ed.
enum class Role { kManifest, kIndex, kConfig, kLayer, kBlob };
std::string_view roleName(Role r);

struct WalkIssue {
  Digest blob;
  Role role;
  std::string what;  // "missing", "corrupt: ..."
};

struct WalkCallbacks {
  std::function<void(const oci::Descriptor&, Role)> on_blob;  // every reachable descriptor
  std::function<void(const WalkIssue&)> on_issue;
};

// Children of an index that are absent are platforms that were never fetched, not a problem.
void walkImage(const Store& store, const oci::Descriptor& root, const WalkCallbacks& cb);

// Every regular file in blobs/sha256 with its size; names that are not 64 hex digits come back
// with an empty digest and their file name in `stray`.
struct BlobFile {
  Digest digest;
  std::string stray;
  int64_t size = 0;
  bool regular = true;
};
Result<std::vector<BlobFile>> listBlobs(const Store& store);

}  // namespace hull::store::internal
