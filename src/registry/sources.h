// Where a blob is known to live in registries, so that a push to another repository of the same
// registry can mount it (POST ?mount=&from=) instead of uploading it again. Kept in the store as
// small text files, sources/<blob-hex>: one "domain/repository" per line, newest first, at most
// kMaxSources lines. A hint only: a wrong or stale line costs one refused mount.
#pragma once

#include <string>
#include <vector>

#include "base/digest.h"
#include "base/result.h"
#include "store/store.h"

namespace hull::registry {

inline constexpr std::size_t kMaxSources = 8;

// The "domain/repository" lines for a blob, newest first; empty when none are known.
std::vector<std::string> blobSources(const store::Store& store, const Digest& blob);

// Records that `domain/repository` holds the blob (best effort: callers may ignore errors).
Result<void> addBlobSource(const store::Store& store, const Digest& blob,
                           const std::string& domain_repository);

// A repository of `domain`, other than `repository`, known to hold the blob; "" if none.
std::string mountSource(const store::Store& store, const Digest& blob, const std::string& domain,
                        const std::string& repository);

}  // namespace hull::registry
