#include "engine/images.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/format.h"
#include "engine/image_users.h"
#include "layer/layer.h"
#include "oci/media_types.h"

namespace hull::engine {

std::pair<std::string, std::string> splitName(std::string_view name) {
  if (name.empty()) return {"<none>", "<none>"};
  if (auto at = name.find('@'); at != std::string_view::npos) {
    return {std::string(name.substr(0, at)), "<none>"};
  }
  std::size_t slash = name.rfind('/');
  std::size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) {
    return {std::string(name), "<none>"};
  }
  return {std::string(name.substr(0, colon)), std::string(name.substr(colon + 1))};
}

namespace {

// The uncompressed size of every layer, or nullopt when one is unknown. A layer stored
// uncompressed is its own tar stream; a compressed one's size comes from its layer record, used
// only when the record is about the diff ID the config names.
std::optional<std::vector<int64_t>> uncompressedSizes(const store::Store& store,
                                                      const oci::Manifest& m,
                                                      const oci::ImageConfig& c) {
  if (m.layers.size() != c.diff_ids.size()) return std::nullopt;
  std::vector<int64_t> sizes;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const oci::Descriptor& layer = m.layers[i];
    auto compression = layer::compressionOf(layer.media_type);
    if (!compression) return std::nullopt;
    if (*compression == layer::Compression::kNone) {
      sizes.push_back(layer.size);
      continue;
    }
    auto record = store.layerRecord(layer.digest);
    if (!record || record->diff_id != c.diff_ids[i]) return std::nullopt;
    sizes.push_back(record->size);
  }
  return sizes;
}

}  // namespace

Result<ImageView> loadImageView(const store::Store& store, const store::ImageRecord& record) {
  ImageView view;
  view.record = record;
  std::string what = record.name.empty() ? record.manifest.digest.str() : record.name;
  auto wrap = [&](Error e) { return std::move(e).wrap("image " + what); };
  HULL_ASSIGN_OR_RETURN(view.manifest, store.manifest(record.manifest).map_error(wrap));
  HULL_ASSIGN_OR_RETURN(std::string raw,
                        store.readBlob(view.manifest.config.digest).map_error(wrap));
  HULL_ASSIGN_OR_RETURN(view.raw_config, parseJson(raw, "image config").map_error(wrap));
  HULL_ASSIGN_OR_RETURN(view.config, oci::imageConfigFromJson(view.raw_config).map_error(wrap));
  view.id = view.manifest.config.digest;
  if (auto sizes = uncompressedSizes(store, view.manifest, view.config)) {
    view.layer_sizes = std::move(*sizes);
    view.uncompressed_size = true;
  } else {
    for (const auto& layer : view.manifest.layers) view.layer_sizes.push_back(layer.size);
  }
  for (int64_t s : view.layer_sizes) view.size += s;
  return view;
}

Result<std::vector<ImageView>> listImages(const store::Store& store, std::string_view filter,
                                          std::optional<bool> dangling) {
  std::string want_repo, want_name;
  if (!filter.empty()) {
    HULL_ASSIGN_OR_RETURN(std::string normal, store::normalizeName(filter));
    auto [repo, tag] = splitName(filter);
    if (tag == "<none>" && filter.find('@') == std::string_view::npos) {
      want_repo = splitName(normal).first;
    } else {
      want_name = normal;
    }
  }
  HULL_ASSIGN_OR_RETURN(auto records, store.allImages());
  std::set<Digest> named, untagged_seen;
  for (const auto& record : records) {
    if (!record.name.empty()) named.insert(record.manifest.digest);
  }
  std::vector<ImageView> views;
  for (const auto& record : records) {
    bool untagged = record.name.empty();
    // An untagged entry of a manifest that has a name is no dangling image; list each once.
    if (untagged && (named.count(record.manifest.digest) ||
                     !untagged_seen.insert(record.manifest.digest).second)) {
      continue;
    }
    if (dangling && *dangling != untagged) continue;
    if (untagged && !filter.empty()) continue;
    if (!want_name.empty() && record.name != want_name) continue;
    if (!want_repo.empty() && splitName(record.name).first != want_repo) continue;
    HULL_ASSIGN_OR_RETURN(ImageView view, loadImageView(store, record));
    views.push_back(std::move(view));
  }
  std::stable_sort(views.begin(), views.end(), [](const ImageView& a, const ImageView& b) {
    int64_t ta = parseTimestamp(a.config.created).value_or(0);
    int64_t tb = parseTimestamp(b.config.created).value_or(0);
    if (ta != tb) return ta > tb;
    return a.record.name < b.record.name;
  });
  return views;
}

Result<ImageView> resolveImage(const store::Store& store, std::string_view ref) {
  HULL_ASSIGN_OR_RETURN(store::ImageRecord record, store.find(ref));
  return loadImageView(store, record);
}

namespace {

// The manifest digests of the untagged entries whose image ID is `id`.
Result<std::vector<Digest>> untaggedOfImage(const store::Store& store, const Digest& id) {
  HULL_ASSIGN_OR_RETURN(auto records, store.allImages());
  std::vector<Digest> out;
  for (const auto& record : records) {
    if (!record.name.empty()) continue;
    auto image_id = store.imageId(record.manifest);
    if (image_id && *image_id == id &&
        std::find(out.begin(), out.end(), record.manifest.digest) == out.end()) {
      out.push_back(record.manifest.digest);
    }
  }
  return out;
}

// The names whose manifest's config is `id`; names that cannot be read are skipped.
Result<std::vector<std::string>> namesOfImage(const store::Store& store, const Digest& id) {
  HULL_ASSIGN_OR_RETURN(auto records, store.images());
  std::vector<std::string> names;
  for (const auto& record : records) {
    auto m = store.manifest(record.manifest);
    if (m && m->config.digest == id) names.push_back(record.name);
  }
  return names;
}

std::string rawString(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<OrderedJson> inspectImage(const store::Store& store, std::string_view ref) {
  HULL_ASSIGN_OR_RETURN(ImageView view, resolveImage(store, ref));
  HULL_ASSIGN_OR_RETURN(auto names, namesOfImage(store, view.id));
  HULL_ASSIGN_OR_RETURN(std::string manifest_bytes, store.readBlob(view.record.manifest.digest));
  HULL_ASSIGN_OR_RETURN(Json manifest_json, parseJson(manifest_bytes, "manifest"));
  const oci::ImageConfig& c = view.config;
  OrderedJson j;
  j["Id"] = view.id.str();
  j["RepoTags"] = names;
  j["RepoDigests"] = Json::array();
  j["Parent"] = "";
  j["Comment"] = rawString(view.raw_config, "comment");
  j["Created"] = c.created;
  j["DockerVersion"] = rawString(view.raw_config, "docker_version");
  j["Author"] = c.author;
  j["Config"] = oci::toJson(c.config);
  j["Architecture"] = c.architecture;
  if (!c.variant.empty()) j["Variant"] = c.variant;
  j["Os"] = c.os;
  j["Size"] = view.size;
  OrderedJson layers = OrderedJson::array();
  for (const auto& d : c.diff_ids) layers.push_back(d.str());
  j["RootFS"] = {{"Type", c.rootfs_type}, {"Layers", layers}};
  j["Metadata"] = {{"LastTagTime", "0001-01-01T00:00:00Z"}};
  j["ManifestDigest"] = view.record.manifest.digest.str();
  j["ManifestMediaType"] = view.record.manifest.media_type;
  j["Manifest"] = manifest_json;
  return j;
}

Result<std::vector<HistoryRow>> imageHistory(const store::Store& store, std::string_view ref) {
  HULL_ASSIGN_OR_RETURN(ImageView view, resolveImage(store, ref));
  std::vector<HistoryRow> rows;
  std::size_t layer = 0;
  const auto& sizes = view.layer_sizes;
  for (const auto& h : view.config.history) {
    HistoryRow row{"<missing>", h.created, h.created_by, 0, h.comment};
    if (!h.empty_layer && layer < sizes.size()) row.size = sizes[layer++];
    rows.push_back(std::move(row));
  }
  // Layers that no history entry describes (configs written without history) still show up.
  for (; layer < sizes.size(); ++layer) {
    rows.push_back(HistoryRow{"<missing>", view.config.created, "", sizes[layer], ""});
  }
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) rows.front().id = view.id.str();
  return rows;
}

namespace {

Result<void> applyNameChange(const store::Store& store, const NameChange& c) {
  if (!c.manifest) return store.untag(c.name);
  if (c.name.empty()) return store.keep(*c.manifest);
  return store.tag(c.name, *c.manifest);
}

}  // namespace

Result<void> applyNameChanges(const store::Store& store, const std::vector<NameChange>& changes) {
  HULL_ASSIGN_OR_RETURN(auto records, store.allImages());
  std::map<std::string, oci::Descriptor> before;
  std::set<Digest> present;  // every manifest an entry pointed at
  for (const auto& r : records) {
    present.insert(r.manifest.digest);
    if (!r.name.empty()) before[r.name] = r.manifest;
  }
  auto restore = [&](const std::string& name) -> Result<void> {
    if (name.empty()) return {};
    auto it = before.find(name);
    if (it != before.end()) return store.tag(name, it->second);
    return store.untag(name);
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const NameChange& c = changes[i];
    Result<void> done = applyNameChange(store, c);
    if (done) continue;
    for (std::size_t j = i; j-- > 0;) (void)restore(changes[j].name);
    // A manifest these changes brought in stays behind untagged once its names are put back.
    for (std::size_t j = 0; j < i; ++j) {
      const auto& m = changes[j].manifest;
      if (m && !present.count(m->digest)) (void)store.dropUntagged(m->digest);
    }
    std::string what = c.name.empty() ? "untagged image" : c.name;
    return fail(std::move(done).error().wrap(what));
  }
  return {};
}

Result<void> publishNames(const store::Store& store, const std::vector<NameChange>& changes,
                          const std::vector<Digest>& needed) {
  // tag() takes the shared lock and serializes index.json updates itself (store.h).
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
  for (const auto& d : needed) {
    if (!store.hasBlob(d)) {
      return fail(Errc::kBusy, fmt::format("blob {} was removed by a concurrent prune; run the "
                                           "command again",
                                           d.str()));
    }
  }
  return applyNameChanges(store, changes);
}

namespace {

void collectReferences(const store::Store& store, const oci::Descriptor& d, int depth,
                       std::set<Digest>& out) {
  if (!out.insert(d.digest).second || depth > 4) return;
  if (oci::isIndexType(d.media_type)) {
    auto bytes = store.readBlob(d.digest);
    if (!bytes) return;
    auto index = oci::parseIndex(*bytes);
    if (!index) return;
    for (const auto& child : index->manifests) collectReferences(store, child, depth + 1, out);
    return;
  }
  auto m = store.manifest(d);
  if (!m) return;
  out.insert(m->config.digest);
  for (const auto& l : m->layers) out.insert(l.digest);
}

}  // namespace

Result<std::set<Digest>> referencedBlobs(const store::Store& store) {
  HULL_ASSIGN_OR_RETURN(auto records, store.allImages());
  std::set<Digest> out;
  for (const auto& r : records) collectReferences(store, r.manifest, 0, out);
  return out;
}

Result<std::string> tagImage(const store::Store& store, std::string_view source,
                             std::string_view target) {
  HULL_ASSIGN_OR_RETURN(std::string name, store::normalizeName(target));
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(store::ImageRecord record, store.find(source));
  HULL_TRY(store.tag(name, record.manifest));
  return name;
}

namespace {

struct RemovalPlan {
  std::vector<std::string> names;
  std::vector<Digest> untagged;  // manifest digests of the untagged entries to drop
  std::vector<Digest> blobs;     // config first, then layers
};

// Containers made from the image keep it unless forced; a running one even then (Docker's
// conflicts, image_users.h).
Result<void> checkContainers(const store::Store& store, std::string_view ref, const Digest& id,
                             bool by_name, bool force) {
  HULL_ASSIGN_OR_RETURN(std::vector<ImageUser> users, imageUsers(store.root()));
  HULL_ASSIGN_OR_RETURN(std::vector<std::string> names, namesOfImage(store, id));
  return checkImageRemoval(users, {.ref = ref,
                                   .image_id = id,
                                   .by_name = by_name,
                                   .last_name = names.size() <= 1,
                                   .force = force});
}

Result<RemovalPlan> planRemoval(const store::Store& store, std::string_view ref, bool force) {
  HULL_ASSIGN_OR_RETURN(auto records, store.images());
  RemovalPlan plan;
  auto normal = store::normalizeName(ref);
  auto by_name = std::find_if(records.begin(), records.end(), [&](const store::ImageRecord& r) {
    return normal && r.name == *normal;
  });
  store::ImageRecord record;
  if (by_name != records.end()) {
    record = *by_name;
    plan.names.push_back(record.name);
  } else {
    HULL_ASSIGN_OR_RETURN(record, store.find(ref));
  }
  HULL_ASSIGN_OR_RETURN(oci::Manifest m, store.manifest(record.manifest));
  HULL_TRY(checkContainers(store, ref, m.config.digest, !plan.names.empty(), force));
  if (plan.names.empty()) {
    HULL_ASSIGN_OR_RETURN(plan.names, namesOfImage(store, m.config.digest));
    HULL_ASSIGN_OR_RETURN(plan.untagged, untaggedOfImage(store, m.config.digest));
    std::set<std::string> repos;
    for (const auto& n : plan.names) repos.insert(splitName(n).first);
    if (repos.size() > 1 && !force) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("conflict: unable to delete {} (must be forced) - image is "
                              "referenced in multiple repositories",
                              m.config.digest.shortId()));
    }
  }
  plan.blobs.push_back(m.config.digest);
  for (const auto& l : m.layers) plan.blobs.push_back(l.digest);
  return plan;
}

}  // namespace

Result<RemoveReport> removeImage(const store::Store& store, std::string_view ref, bool force) {
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kExclusive));
  HULL_ASSIGN_OR_RETURN(RemovalPlan plan, planRemoval(store, ref, force));
  std::vector<NameChange> changes;
  for (const auto& n : plan.names) changes.push_back({n, std::nullopt});
  HULL_TRY(applyNameChanges(store, changes));
  for (const auto& d : plan.untagged) {
    auto dropped = store.dropUntagged(d);
    if (!dropped && dropped.error().code != Errc::kNotFound) return fail(dropped.error());
  }
  RemoveReport report;
  report.untagged = plan.names;
  HULL_ASSIGN_OR_RETURN(store::PruneReport pruned, store.prune().map_error([](Error e) {
    return std::move(e).wrap("untagged, but collecting its blobs failed");
  }));
  std::set<Digest> removed(pruned.removed.begin(), pruned.removed.end());
  for (const auto& d : plan.blobs) {
    if (removed.count(d) &&
        std::find(report.deleted.begin(), report.deleted.end(), d) == report.deleted.end()) {
      report.deleted.push_back(d);
    }
  }
  return report;
}

}  // namespace hull::engine
