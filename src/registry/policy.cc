// Pure decisions of the distribution client (see policy.h).
#include "registry/policy.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/json.h"
#include "oci/media_types.h"

namespace hull::registry {
namespace {

// Keeps error lines on one line and short, whatever the registry sent.
std::string oneLine(std::string_view s, std::size_t max = 300) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string_view statusText(long status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "unauthorized: authentication required";
    case 403:
      return "denied: access forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 416:
      return "requested range not satisfiable";
    case 429:
      return "toomanyrequests: too many requests";
    case 500:
      return "internal server error";
    case 502:
      return "bad gateway";
    case 503:
      return "service unavailable";
    case 504:
      return "gateway timeout";
    default:
      return "unexpected status";
  }
}

bool looksLikeHtml(std::string_view content_type, std::string_view body) {
  if (content_type.find("text/html") != std::string_view::npos) return true;
  std::size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return false;
  std::string head(body.substr(i, 15));
  std::transform(head.begin(), head.end(), head.begin(), ::tolower);
  return head.starts_with("<!doctype html") || head.starts_with("<html");
}

int variantRank(std::string_view arch, std::string_view variant) {
  if (arch == "arm") {
    if (variant == "v7" || variant.empty()) return 3;
    if (variant == "v6") return 2;
    if (variant == "v5") return 1;
  }
  if (arch == "arm64" && (variant == "v8" || variant.empty())) return 3;
  return 0;
}

bool variantMatches(std::string_view arch, std::string_view want, std::string_view have) {
  if (want == have) return true;
  // Docker fills in the default variant: arm64 means v8, arm means v7.
  std::string_view def = arch == "arm64" ? "v8" : arch == "arm" ? "v7" : "";
  return !def.empty() && (want.empty() ? def : want) == (have.empty() ? def : have);
}

}  // namespace

std::string manifestAccept() {
  return fmt::format("{}, {}, {}, {}", oci::kMediaTypeImageManifest, oci::kMediaTypeImageIndex,
                     oci::kDockerManifest, oci::kDockerManifestList);
}

Result<ManifestType> classifyManifest(std::string_view content_type, std::string_view body) {
  std::string_view ct = content_type.substr(0, content_type.find(';'));
  while (ct.ends_with(' ')) ct.remove_suffix(1);
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(body, "manifest"));
  if (!j.is_object()) return fail(Errc::kCorrupt, "manifest: not a JSON object");
  std::string declared;
  if (auto it = j.find("mediaType"); it != j.end() && it->is_string()) declared = *it;
  auto schema = j.find("schemaVersion");
  if (ct == oci::kDockerSchema1Manifest || ct == oci::kDockerSchema1Signed ||
      declared == oci::kDockerSchema1Manifest ||
      (schema != j.end() && schema->is_number_integer() && *schema == 1)) {
    return fail(Errc::kUnsupported,
                "manifest is Docker image format v2 schema 1, which is deprecated and not "
                "supported: push the image again with a current client");
  }
  std::string type = !declared.empty() ? declared : std::string(ct);
  if (type.empty() || type == "application/json" || type == "text/plain") {
    type = j.contains("manifests") ? std::string(oci::kMediaTypeImageIndex)
                                   : std::string(oci::kMediaTypeImageManifest);
  }
  if (oci::isManifestType(type)) return ManifestType{ManifestKind::kManifest, type};
  if (oci::isIndexType(type)) return ManifestType{ManifestKind::kIndex, type};
  return fail(Errc::kUnsupported,
              fmt::format("unsupported manifest media type \"{}\"", oneLine(type, 100)));
}

std::string describeHttpError(long status, std::string_view content_type, std::string_view body) {
  if (looksLikeHtml(content_type, body)) {
    return fmt::format(
        "HTTP {}: the server answered with an HTML page, not the registry API (is "
        "this a registry?)",
        status);
  }
  auto j = parseJson(body, "error");
  if (j && j->is_object() && j->contains("errors") && (*j)["errors"].is_array()) {
    std::vector<std::string> parts;
    for (const auto& e : (*j)["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", "");
      std::string message = e.value("message", "");
      std::transform(code.begin(), code.end(), code.begin(), ::tolower);
      if (code.empty() && message.empty()) continue;
      parts.push_back(oneLine(code.empty()      ? message
                              : message.empty() ? code
                                                : code + ": " + message));
      if (parts.size() == 3) break;
    }
    if (!parts.empty()) return fmt::format("{} (HTTP {})", fmt::join(parts, "; "), status);
  }
  return fmt::format("{} (HTTP {})", statusText(status), status);
}

std::optional<std::chrono::milliseconds> retryDelay(int attempt, int max_attempts, long status,
                                                    std::optional<long> retry_after) {
  if (attempt >= max_attempts) return std::nullopt;
  bool retryable = status == 0 || status == 429 || (status >= 500 && status != 501);
  if (!retryable) return std::nullopt;
  if (retry_after) {
    return std::min(std::chrono::milliseconds(std::max(0L, *retry_after) * 1000), kMaxRetryDelay);
  }
  auto backoff = std::chrono::milliseconds(200) * (1 << std::min(attempt - 1, 10));
  return std::min(backoff, kMaxRetryDelay);
}

std::optional<long> parseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  long out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty() || out < 0) {
    return std::nullopt;
  }
  return out;
}

std::string platformString(const oci::Platform& p) {
  std::string out = p.os + "/" + p.architecture;
  if (!p.variant.empty()) out += "/" + p.variant;
  return out;
}

Result<oci::Descriptor> selectPlatform(const oci::Index& index, const oci::Platform& want) {
  const oci::Descriptor* best = nullptr;
  int best_rank = -1;
  std::vector<std::string> offered;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    const oci::Platform& p = *d.platform;
    if (p.os == "unknown" || p.architecture == "unknown") continue;  // attestations
    offered.push_back(platformString(p));
    if (p.os != want.os || p.architecture != want.architecture) continue;
    if (!want.variant.empty()) {
      if (variantMatches(p.architecture, want.variant, p.variant)) return d;
      continue;
    }
    int rank = variantRank(p.architecture, p.variant);
    if (rank > best_rank) {
      best = &d;
      best_rank = rank;
    }
  }
  if (best != nullptr) return *best;
  return fail(
      Errc::kNotFound,
      fmt::format(
          "no image for platform {} in the manifest list (it has: {})", platformString(want),
          offered.empty() ? std::string("none") : fmt::format("{}", fmt::join(offered, ", "))));
}

}  // namespace hull::registry
