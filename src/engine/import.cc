#include "engine/import.h"

#include <fmt/format.h>

#include "engine/change.h"
#include "engine/format.h"
#include "engine/images.h"
#include "oci/media_types.h"

namespace hull::engine {

Result<oci::Platform> parsePlatform(std::string_view text) {
  oci::Platform p;
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--platform \"{}\": expected OS/ARCH[/VARIANT]", text));
  }
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

oci::ImageConfig oneLayerConfig(const oci::Platform& platform, int64_t created,
                                const Digest& diff_id, std::string created_by) {
  oci::ImageConfig c;
  c.architecture = platform.architecture;
  c.os = platform.os;
  c.variant = platform.variant;
  c.created = oci::formatTimestamp(created);
  c.diff_ids = {diff_id};
  oci::History h;
  h.created = c.created;
  h.created_by = std::move(created_by);
  c.history.push_back(std::move(h));
  return c;
}

Result<oci::ImageConfig> importConfig(const ImportOptions& options, const Digest& diff_id) {
  oci::Platform platform = oci::hostPlatform();
  if (!options.platform.empty()) {
    HULL_ASSIGN_OR_RETURN(platform, parsePlatform(options.platform));
  }
  oci::ContainerConfig config;
  for (const auto& change : options.changes) HULL_TRY(applyChange(change, config));
  HULL_ASSIGN_OR_RETURN(int64_t now, buildTime());
  oci::ImageConfig c = oneLayerConfig(platform, now, diff_id, "hull import");
  c.config = std::move(config);
  c.history.back().comment =
      options.message.empty() ? "Imported from " + options.source : options.message;
  return c;
}

Result<ImportResult> publishOneLayerImage(const store::Store& store, const std::string& name,
                                          const Json& config, const oci::Descriptor& layer) {
  oci::Manifest manifest;
  manifest.media_type = oci::kMediaTypeImageManifest;
  HULL_ASSIGN_OR_RETURN(manifest.config,
                        store.putBlob(oci::kMediaTypeImageConfig, canonicalJson(config)));
  manifest.layers.push_back(layer);
  ImportResult result;
  result.name = name;
  HULL_ASSIGN_OR_RETURN(result.manifest,
                        store.putBlob(oci::kMediaTypeImageManifest, oci::serialize(manifest)));
  result.id = manifest.config.digest;
  // Without a name the image is kept untagged, as Docker keeps it: found by its ID.
  std::vector<Digest> needed = {result.manifest.digest, result.id, layer.digest};
  HULL_TRY(publishNames(store, {{result.name, result.manifest}}, needed));
  return result;
}

namespace {

// Streams the layer into the store under the shared lock held by the caller.
Result<oci::Descriptor> ingestLayer(const store::Store& store, layer::Reader& in, Digest& diff_id) {
  HULL_ASSIGN_OR_RETURN(store::BlobWriter blob, store.ingest());
  auto out = layer::funcWriter(
      [&blob](const void* data, std::size_t size) { return blob.write(data, size); });
  HULL_ASSIGN_OR_RETURN(layer::LayerInfo info,
                        layer::importTarball(in, *out, layer::Compression::kGzip));
  diff_id = info.diff_id;
  HULL_ASSIGN_OR_RETURN(oci::Descriptor d, blob.commit(info.media_type, info.digest, info.size));
  // Best effort: the record spares save and images a decompression; without it they recompute.
  (void)store.putLayerRecord(d.digest, {info.diff_id, info.uncompressed_size});
  return d;
}

}  // namespace

Result<ImportResult> importImage(const store::Store& store, layer::Reader& in,
                                 const ImportOptions& options) {
  // Parse everything the user gave before touching the store.
  ImportResult result;
  if (!options.name.empty()) {
    HULL_ASSIGN_OR_RETURN(result.name, store::normalizeName(options.name));
  }
  HULL_TRY(importConfig(options, Digest::ofBytes("")));
  // The shared lock spans the writes and the tag, so no prune runs in between.
  HULL_ASSIGN_OR_RETURN(store::Lock shared, store.lock(store::LockMode::kShared));
  Digest diff_id;
  HULL_ASSIGN_OR_RETURN(oci::Descriptor layer_desc,
                        ingestLayer(store, in, diff_id).map_error([](Error e) {
                          return std::move(e).wrap("import");
                        }));
  HULL_ASSIGN_OR_RETURN(oci::ImageConfig config, importConfig(options, diff_id));
  Json config_json = oci::toJson(config);
  if (!options.message.empty()) config_json["comment"] = options.message;  // Docker's field
  return publishOneLayerImage(store, result.name, config_json, layer_desc);
}

}  // namespace hull::engine
