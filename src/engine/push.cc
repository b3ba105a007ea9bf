// `hull push` (see push.h). The steps:
//  1. find the image and read its manifest (verified) as stored;
//  2. upload the layers, a few at once, then the config: each is HEAD-checked first, mounted
//     from another repository of the same registry when the store's source notes name one,
//     else uploaded (one PUT, or PATCH chunks above the chunk size);
//  3. PUT the manifest bytes last, so the registry never holds a manifest without its blobs.
#include "engine/push.h"

#include <fmt/format.h>

#include "oci/media_types.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "registry/sources.h"

namespace hull::engine {
namespace {

void notify(const PushOptions& o, TransferEvent e) {
  if (o.observer) o.observer(e);
}

Result<void> pushOne(const store::Store& store, registry::Client& client,
                     const registry::Reference& ref, const oci::Descriptor& d,
                     const PushOptions& options) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader reader, store.openBlob(d.digest));
  if (reader.size() != d.size) {
    return fail(Errc::kCorrupt, fmt::format("blob {}: {} bytes in the store, the manifest says {}",
                                            d.digest.str(), reader.size(), d.size));
  }
  std::string from = registry::mountSource(store, d.digest, ref.domain, ref.repository);
  auto progress = [&](int64_t done) {
    notify(options, {.phase = TransferEvent::Phase::kProgress,
                     .digest = d.digest,
                     .total = d.size,
                     .done = done,
                     .from = {}});
  };
  HULL_ASSIGN_OR_RETURN(registry::BlobPush how,
                        client.pushBlob(ref.repository, d, reader.fd(), from, progress));
  (void)registry::addBlobSource(store, d.digest, ref.name());
  TransferEvent done{.phase = TransferEvent::Phase::kComplete,
                     .digest = d.digest,
                     .total = d.size,
                     .done = d.size,
                     .from = {}};
  if (how == registry::BlobPush::kExists) done.phase = TransferEvent::Phase::kAlreadyExists;
  if (how == registry::BlobPush::kMounted) {
    done.phase = TransferEvent::Phase::kMounted;
    done.from = from;
  }
  notify(options, done);
  return {};
}

Result<registry::Reference> destination(const store::ImageRecord& record, std::string_view dest) {
  if (!dest.empty()) return registry::parseReference(dest);
  if (record.name.empty()) {
    return fail(Errc::kInvalidArgument,
                "the image has no name: give a destination (hull push IMAGE REGISTRY/REPO:TAG)");
  }
  return registry::parseReference(record.name);
}

}  // namespace

Result<PushResult> pushImage(const store::Store& store, std::string_view image,
                             std::string_view dest, const PushOptions& options,
                             const std::function<void(const std::string&)>& on_start) {
  HULL_ASSIGN_OR_RETURN(store::ImageRecord record, store.find(image));
  HULL_ASSIGN_OR_RETURN(registry::Reference ref, destination(record, dest));
  if (!oci::isManifestType(record.manifest.media_type)) {
    return fail(Errc::kUnsupported,
                fmt::format("push {}: only single-platform images can be pushed (media type "
                            "\"{}\")",
                            image, record.manifest.media_type));
  }
  HULL_ASSIGN_OR_RETURN(std::string bytes,
                        store.readBlob(record.manifest.digest, registry::kMaxManifestSize));
  HULL_ASSIGN_OR_RETURN(oci::Manifest m, oci::parseManifest(bytes));
  if (ref.digest && *ref.digest != record.manifest.digest) {
    return fail(Errc::kInvalidArgument,
                fmt::format("push: {} names digest {}, the image's manifest is {}", ref.str(),
                            ref.digest->str(), record.manifest.digest.str()));
  }
  HULL_ASSIGN_OR_RETURN(auto client, registry::openClient(ref.domain, options.tls_verify));
  client->setPushAccess(true);
  if (on_start) on_start(ref.name());
  announceLayers(options.observer, m.layers);
  HULL_TRY(forEachParallel(m.layers.size(), options.parallel, [&](std::size_t i) {
    return pushOne(store, *client, ref, m.layers[i], options);
  }));
  PushOptions quiet = options;
  quiet.observer = nullptr;  // Docker shows layers only
  HULL_TRY(pushOne(store, *client, ref, m.config, quiet));
  std::string target = ref.tag.empty() ? record.manifest.digest.str() : ref.tag;
  HULL_ASSIGN_OR_RETURN(Digest pushed, client->putManifest(ref.repository, target,
                                                           record.manifest.media_type, bytes));
  return PushResult{.repository = ref.name(),
                    .tag = ref.tag,
                    .digest = pushed,
                    .size = static_cast<int64_t>(bytes.size())};
}

}  // namespace hull::engine
