// `hull pull` (see pull.h). The steps:
//  1. resolve the reference to a manifest (through an index for this platform or --platform);
//  2. stop if the store already has that manifest under the name;
//  3. fetch and verify the config; its diff IDs are what the layers must decompress to;
//  4. stream the missing layers into the store, a few at once, each byte read once into the
//     store's BlobWriter, which checks the blob digest. The diff IDs are checked when a layer is
//     first unpacked (engine/layer_verify.h), not here: decompressing every layer while
//     downloading made a pull CPU-bound (docs/registry.md);
//  5. store config and manifest, then tag (or keep untagged for a digest-only reference).
#include "engine/pull.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "engine/import.h"
#include "layer/layer.h"
#include "oci/media_types.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "registry/sources.h"

namespace hull::engine {
namespace {

constexpr std::size_t kMaxConfigSize = 16 << 20;

struct Resolved {
  Digest top;  // what the reference resolved to
  oci::Descriptor manifest;
  std::string bytes;
};

void notify(const PullOptions& o, TransferEvent e) {
  if (o.observer) o.observer(e);
}

}  // namespace

void announceLayers(const TransferObserver& observer, const std::vector<oci::Descriptor>& layers) {
  if (!observer) return;
  for (const auto& l : layers) {
    observer({.phase = TransferEvent::Phase::kWaiting,
              .digest = l.digest,
              .total = l.size,
              .done = 0,
              .from = {}});
  }
}

namespace {

Result<Resolved> resolve(registry::Client& client, const registry::Reference& ref,
                         const PullOptions& options) {
  HULL_ASSIGN_OR_RETURN(auto top, client.getManifest(ref.repository, ref.identifier()));
  Resolved r{.top = top.digest, .manifest = {}, .bytes = {}};
  if (top.type.kind == registry::ManifestKind::kManifest) {
    r.manifest.media_type = top.type.media_type;
    r.manifest.digest = top.digest;
    r.manifest.size = static_cast<int64_t>(top.bytes.size());
    r.bytes = std::move(top.bytes);
    return r;
  }
  oci::Platform want = oci::hostPlatform();
  if (!options.platform.empty()) {
    HULL_ASSIGN_OR_RETURN(want, parsePlatform(options.platform));
  }
  HULL_ASSIGN_OR_RETURN(oci::Index index, oci::parseIndex(top.bytes));
  auto chosen = registry::selectPlatform(index, want);
  if (!chosen) return fail(chosen.error().wrap(ref.familiar()));
  HULL_ASSIGN_OR_RETURN(auto m, client.getManifest(ref.repository, chosen->digest.str()));
  if (m.type.kind != registry::ManifestKind::kManifest) {
    return fail(Errc::kUnsupported,
                fmt::format("{}: nested manifest lists are not supported", ref.familiar()));
  }
  r.manifest = {.media_type = m.type.media_type,
                .digest = m.digest,
                .size = static_cast<int64_t>(m.bytes.size()),
                .annotations = {},
                .platform = {},
                .artifact_type = {},
                .urls = {}};
  r.bytes = std::move(m.bytes);
  return r;
}

// Refuses what is not a container image before anything is downloaded.
Result<void> checkImage(const oci::Manifest& m, std::string_view name) {
  if (m.config.media_type != oci::kMediaTypeImageConfig &&
      m.config.media_type != oci::kDockerConfig) {
    return fail(Errc::kUnsupported,
                fmt::format("{}: not a container image (config media type \"{}\")", name,
                            m.config.media_type));
  }
  for (const auto& l : m.layers) {
    if (!oci::isLayerType(l.media_type)) {
      return fail(Errc::kUnsupported,
                  fmt::format("{}: unsupported layer media type \"{}\"", name, l.media_type));
    }
  }
  return {};
}

// Fetches and verifies the config; it is stored with the manifest once the layers are in, so a
// failed pull adds no blob that only it would reference.
Result<std::string> fetchConfig(const store::Store& store, registry::Client& client,
                                const std::string& repo, const oci::Descriptor& d) {
  std::string what = "config " + d.digest.str();
  if (d.size < 0 || static_cast<std::size_t>(d.size) > kMaxConfigSize) {
    return fail(Errc::kCorrupt, fmt::format("{}: size {} is out of bounds", what, d.size));
  }
  std::string bytes;
  if (store.hasBlob(d.digest)) {
    HULL_ASSIGN_OR_RETURN(bytes, store.readBlob(d.digest, kMaxConfigSize));
  } else {
    HULL_TRY(client.fetchBlob(repo, d, [&](const char* p, std::size_t n) -> Result<void> {
      bytes.append(p, n);
      return {};
    }));
    if (Digest::ofBytes(bytes) != d.digest) {
      return fail(Errc::kCorrupt, what + ": content does not match its digest");
    }
  }
  return bytes;
}

// Collects the download's small pieces into large writes: one write(2) per MiB rather than one
// per network read.
class BufferedBlob {
 public:
  explicit BufferedBlob(store::BlobWriter& writer) : writer_(writer) { buf_.reserve(kSize); }
  Result<void> write(const char* p, std::size_t n) {
    if (buf_.size() + n > kSize) HULL_TRY(flush());
    if (n >= kSize) return writer_.write(p, n);
    buf_.append(p, n);
    return {};
  }
  Result<void> flush() {
    if (buf_.empty()) return {};
    HULL_TRY(writer_.write(buf_));
    buf_.clear();
    return {};
  }

 private:
  static constexpr std::size_t kSize = 1 << 20;
  store::BlobWriter& writer_;
  std::string buf_;
};

Result<void> fetchLayer(const store::Store& store, registry::Client& client,
                        const registry::Reference& ref, const oci::Descriptor& d,
                        const PullOptions& options) {
  std::string source = ref.name();
  if (store.hasBlob(d.digest)) {
    notify(options, {.phase = TransferEvent::Phase::kAlreadyExists,
                     .digest = d.digest,
                     .total = d.size,
                     .done = d.size,
                     .from = {}});
    (void)registry::addBlobSource(store, d.digest, source);
    return {};
  }
  // Refuse a layer no unpack could read before downloading it.
  HULL_TRY(layer::compressionOf(d.media_type));
  HULL_ASSIGN_OR_RETURN(store::BlobWriter writer, store.ingest());
  BufferedBlob out(writer);
  auto progress = [&](int64_t done) {
    notify(options, {.phase = TransferEvent::Phase::kProgress,
                     .digest = d.digest,
                     .total = d.size,
                     .done = done,
                     .from = {}});
  };
  HULL_TRY(client.fetchBlob(
      ref.repository, d, [&](const char* p, std::size_t n) { return out.write(p, n); }, progress));
  HULL_TRY(out.flush());
  HULL_TRY(writer.commit(d.media_type, d.digest, d.size));
  // Best effort: the note helps a later push mount the blob instead of uploading it.
  (void)registry::addBlobSource(store, d.digest, source);
  notify(options, {.phase = TransferEvent::Phase::kComplete,
                   .digest = d.digest,
                   .total = d.size,
                   .done = d.size,
                   .from = {}});
  return {};
}

Result<ImageRef> existing(const store::Store& store, const store::ImageRecord& record) {
  HULL_ASSIGN_OR_RETURN(Digest id, store.imageId(record.manifest));
  return ImageRef{.name = record.name,
                  .manifest = record.manifest,
                  .id = id,
                  .digest = record.manifest.digest,
                  .updated = false};
}

}  // namespace

Result<void> forEachParallel(std::size_t count, int parallel,
                             const std::function<Result<void>(std::size_t)>& fn) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::optional<Error> first;
  auto worker = [&] {
    while (!stop) {
      std::size_t i = next++;
      if (i >= count) return;
      auto r = fn(i);
      if (!r) {
        std::lock_guard lock(mu);
        if (!first) first = r.error();
        stop = true;
      }
    }
  };
  std::size_t n = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(parallel, 1)));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first) return fail(*first);
  return {};
}

Result<ImageRef> pullImage(const store::Store& store, std::string_view text,
                           const PullOptions& options) {
  HULL_ASSIGN_OR_RETURN(registry::Reference ref, registry::parseReference(text));
  std::string name = ref.tag.empty() ? "" : ref.familiarRepository() + ":" + ref.tag;
  HULL_ASSIGN_OR_RETURN(auto client, registry::openClient(ref.domain, options.tls_verify));
  HULL_ASSIGN_OR_RETURN(Resolved r, resolve(*client, ref, options));
  HULL_ASSIGN_OR_RETURN(oci::Manifest m, oci::parseManifest(r.bytes));
  HULL_TRY(checkImage(m, ref.familiar()));
  // Up to date: the name (or, for a digest-only reference, some entry) has this manifest.
  auto have = store.find(name.empty() ? r.manifest.digest.str() : name);
  if (have && have->manifest.digest == r.manifest.digest) {
    HULL_ASSIGN_OR_RETURN(ImageRef out, existing(store, *have));
    out.digest = r.top;
    return out;
  }
  HULL_ASSIGN_OR_RETURN(std::string config_bytes,
                        fetchConfig(store, *client, ref.repository, m.config));
  HULL_ASSIGN_OR_RETURN(oci::ImageConfig config, oci::parseImageConfig(config_bytes));
  if (config.diff_ids.size() != m.layers.size()) {
    return fail(Errc::kCorrupt,
                fmt::format("{}: the config lists {} diff IDs for {} layers", ref.familiar(),
                            config.diff_ids.size(), m.layers.size()));
  }
  announceLayers(options.observer, m.layers);
  HULL_TRY(forEachParallel(m.layers.size(), options.parallel, [&](std::size_t i) {
    return fetchLayer(store, *client, ref, m.layers[i], options);
  }));
  HULL_TRY(store.putBlob(m.config.media_type, config_bytes));
  HULL_TRY(store.putBlob(r.manifest.media_type, r.bytes));
  if (name.empty()) {
    HULL_TRY(store.keep(r.manifest));
  } else {
    HULL_TRY(store.tag(name, r.manifest));
  }
  return ImageRef{.name = name,
                  .manifest = r.manifest,
                  .id = m.config.digest,
                  .digest = r.top,
                  .updated = true};
}

Result<ImageRef> ensureImage(const store::Store& store, std::string_view text,
                             const PullOptions& options) {
  HULL_ASSIGN_OR_RETURN(registry::Reference ref, registry::parseReference(text));
  if (!ref.digest) {
    if (auto have = store.find(ref.familiar())) return existing(store, *have);
  } else if (auto have = store.find(ref.digest->str()); have) {
    return existing(store, *have);
  }
  return pullImage(store, text, options);
}

}  // namespace hull::engine
