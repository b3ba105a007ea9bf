// The pure decisions of the distribution client, kept apart from the transport so they can be
// table-tested: what a registry's error answer means, when to try again, which manifest media
// types hull accepts, and which manifest of an index fits a platform.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "oci/image.h"

namespace hull::registry {

// The largest manifest or index hull reads (the distribution spec's suggested limit).
inline constexpr std::size_t kMaxManifestSize = 4 << 20;

// The Accept header of manifest requests: OCI and Docker v2 schema 2, manifests and lists.
std::string manifestAccept();

enum class ManifestKind { kManifest, kIndex };

// Decides what a manifest is: the document's own "mediaType" (covered by its digest) when it has
// one, else the Content-Type the registry sent, else its shape ("manifests" or "layers"). Docker
// schema 1 is refused with a clear message, and so is any other type.
struct ManifestType {
  ManifestKind kind = ManifestKind::kManifest;
  std::string media_type;
};
Result<ManifestType> classifyManifest(std::string_view content_type, std::string_view body);

// Turns an error answer into one line: the registry's OCI error JSON
// ({"errors":[{"code","message","detail"}]}) when there is one, else the status; an HTML page
// is named as such (a proxy or a web server, not a registry).
std::string describeHttpError(long status, std::string_view content_type, std::string_view body);

// Whether and when to try a request again. `attempt` counts from 1 (the try that just failed);
// `status` is the HTTP status (0 when the connection failed); `retry_after` is the
// Retry-After header's seconds when sent. Retries 429, 5xx (but 501) and connection failures,
// max_attempts tries in all, with exponential backoff (200 ms, 400 ms, ...) or Retry-After, capped
// at kMaxRetryDelay.
inline constexpr std::chrono::milliseconds kMaxRetryDelay{10'000};
std::optional<std::chrono::milliseconds> retryDelay(int attempt, int max_attempts, long status,
                                                    std::optional<long> retry_after);
// Parses Retry-After's delta-seconds form (the HTTP-date form is ignored: nullopt).
std::optional<long> parseRetryAfter(std::string_view value);

// Picks the manifest for a platform from an index: os and architecture must match; a wanted
// variant must match (arm64 without a variant counts as v8, arm as v7); without a wanted variant
// the best one is taken (for arm: v7, then v6, then v5; else the first). Attestation manifests
// (platform unknown/unknown) are skipped.
Result<oci::Descriptor> selectPlatform(const oci::Index& index, const oci::Platform& want);

// Formats a platform as "os/arch[/variant]".
std::string platformString(const oci::Platform& p);

}  // namespace hull::registry
