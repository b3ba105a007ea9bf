#include "engine/load.h"

#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "base/archive_loader.h"
#include "engine/archive.h"
#include "engine/images.h"
#include "layer/layer.h"
#include "oci/media_types.h"

namespace hull::engine {
namespace {

constexpr std::size_t kArchiveBlockSize = 1 << 20;
constexpr std::size_t kMetaMax = 16 << 20;
constexpr int kLinkHopsMax = 16;

struct Entry {
  Digest digest;
  int64_t size = 0;
  layer::Compression compression = layer::Compression::kNone;
};

struct Contents {
  std::map<std::string, std::string> meta;   // the layout files, kept in memory
  std::map<std::string, Entry> files;        // every other file, now a blob in the store
  std::map<std::string, std::string> links;  // symbolic and hard links: path -> target path
  std::vector<Digest> created;               // blobs this load added to the store
};

bool isMetaFile(const std::string& path) {
  return path == "manifest.json" || path == "index.json" || path == "oci-layout" ||
         path == "repositories";
}

// The per-layer metadata of the legacy layout (<id>/json, <id>/VERSION) is never needed.
bool isLegacyLayerMeta(const std::string& path) {
  return path.ends_with("/json") || path.ends_with("/VERSION");
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

tl::unexpected<Error> archiveError(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  return fail(Errc::kCorrupt, fmt::format("{}: {}", what, msg != nullptr ? msg : "read error"));
}

Result<std::string> readMeta(archive* a, const std::string& path, int64_t size) {
  if (size < 0 || static_cast<std::size_t>(size) > kMetaMax) {
    return fail(Errc::kCorrupt, fmt::format("{}: {} bytes is too large", path, size));
  }
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
    if (n < 0) return archiveError(a, path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<Entry> ingestEntry(const store::Store& store, archive* a, const std::string& path,
                          Contents& contents) {
  HULL_ASSIGN_OR_RETURN(store::BlobWriter blob, store.ingest());
  std::unique_ptr<unsigned char[]> buf(new unsigned char[kArchiveBlockSize]);
  Entry entry;
  bool first = true;
  while (true) {
    la_ssize_t n = archive_read_data(a, buf.get(), kArchiveBlockSize);
    if (n < 0) return archiveError(a, "read");
    if (n == 0) break;
    if (first) {
      entry.compression = layer::detectCompression({buf.get(), static_cast<std::size_t>(n)});
      first = false;
    }
    HULL_TRY(blob.write(buf.get(), static_cast<std::size_t>(n)));
  }
  // Blob paths name their digest: the store refuses bytes that do not match it.
  std::optional<Digest> expected;
  if (path.starts_with("blobs/")) {
    expected = digestInPath(path);
    if (!expected) return fail(Errc::kCorrupt, "unexpected blob name " + path);
  }
  bool existed = expected && store.hasBlob(*expected);
  HULL_ASSIGN_OR_RETURN(oci::Descriptor d, blob.commit("", expected));
  if (!existed) contents.created.push_back(d.digest);
  entry.digest = d.digest;
  entry.size = d.size;
  return entry;
}

Result<void> readEntry(const store::Store& store, archive* a, archive_entry* e,
                       Contents& contents) {
  const char* raw = archive_entry_pathname(e);
  if (raw == nullptr) return fail(Errc::kCorrupt, "archive entry without a readable name");
  HULL_ASSIGN_OR_RETURN(std::string path, cleanEntryPath(raw));
  if (const char* hard = archive_entry_hardlink(e); hard != nullptr) {
    HULL_ASSIGN_OR_RETURN(contents.links[path], cleanEntryPath(hard));
    return {};
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      return {};
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      HULL_ASSIGN_OR_RETURN(contents.links[path],
                            resolveLinkTarget(path, target != nullptr ? target : ""));
      return {};
    }
    case AE_IFREG:
      break;
    default:
      return fail(Errc::kCorrupt,
                  fmt::format("archive entry {}: not a file, directory or link", path));
  }
  if (isMetaFile(path)) {
    HULL_ASSIGN_OR_RETURN(contents.meta[path], readMeta(a, path, archive_entry_size(e)));
  } else if (!isLegacyLayerMeta(path)) {
    HULL_ASSIGN_OR_RETURN(Entry entry,
                          ingestEntry(store, a, path, contents).map_error([&](Error err) {
                            return std::move(err).wrap("archive entry " + path);
                          }));
    contents.files[path] = entry;
  }
  return {};
}

Result<void> readArchive(const store::Store& store, int fd, Contents& contents) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return fail(archiveNewError("archive_read_new"));
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), fd, kArchiveBlockSize) != ARCHIVE_OK) {
    return archiveError(a.get(), "read archive");
  }
  while (true) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return archiveError(a.get(), "read archive");
    HULL_TRY(readEntry(store, a.get(), e, contents));
  }
  return {};
}

Result<const Entry*> lookup(const Contents& contents, const std::string& path,
                            std::string_view role) {
  std::string cur = path;
  for (int hops = 0; hops <= kLinkHopsMax; ++hops) {
    if (auto it = contents.files.find(cur); it != contents.files.end()) return &it->second;
    auto link = contents.links.find(cur);
    if (link == contents.links.end()) break;
    cur = link->second;
  }
  return fail(Errc::kCorrupt, fmt::format("{} {} is missing from the archive", role, path));
}

oci::Descriptor descriptorOf(std::string_view media_type, const Entry& entry) {
  oci::Descriptor d;
  d.media_type = media_type;
  d.digest = entry.digest;
  d.size = entry.size;
  return d;
}

struct Planned {
  std::vector<NameChange> names;  // an empty name keeps the image untagged
  std::vector<Digest> untagged;   // the image IDs of those
  std::vector<Digest> needed;
};

}  // namespace

// --- docker-archive ---
namespace {

// Reads a layer blob once: every tar entry is checked as `hull import` checks it (a hostile
// layer is refused here, not only when it is unpacked) and its diff ID is computed.
Result<Digest> checkedDiffId(const store::Store& store, const Digest& blob,
                             const std::string& path) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader reader, store.openBlob(blob));
  auto raw = layer::funcReader([&reader](void* p, std::size_t n) { return reader.read(p, n); });
  HULL_ASSIGN_OR_RETURN(layer::LayerInfo info, layer::checkLayer(*raw).map_error([&](Error e) {
    return Error{Errc::kCorrupt, "layer " + path + ": " + e.message};
  }));
  // Best effort: the record spares save and images a decompression; without it they recompute.
  (void)store.putLayerRecord(blob, {info.diff_id, info.uncompressed_size});
  return info.diff_id;
}

Result<oci::Descriptor> dockerLayer(const store::Store& store, const Contents& contents,
                                    const std::string& path, const Digest& diff_id) {
  HULL_ASSIGN_OR_RETURN(const Entry* entry, lookup(contents, path, "layer"));
  HULL_ASSIGN_OR_RETURN(Digest got, checkedDiffId(store, entry->digest, path));
  if (got != diff_id) {
    return fail(Errc::kCorrupt, fmt::format("layer {}: content is {}, the image config says {}",
                                            path, got.str(), diff_id.str()));
  }
  return descriptorOf(layer::layerMediaType(entry->compression), *entry);
}

Result<oci::Descriptor> putManifest(const store::Store& store, const oci::Manifest& m,
                                    Contents& contents) {
  std::string bytes = oci::serialize(m);
  bool existed = store.hasBlob(Digest::ofBytes(bytes));
  HULL_ASSIGN_OR_RETURN(oci::Descriptor d, store.putBlob(oci::kMediaTypeImageManifest, bytes));
  if (!existed) contents.created.push_back(d.digest);
  return d;
}

Result<void> planDockerImage(const store::Store& store, Contents& contents,
                             const DockerArchiveImage& image, Planned& plan) {
  HULL_ASSIGN_OR_RETURN(const Entry* config, lookup(contents, image.config, "config"));
  if (auto named = digestInPath(image.config); named && *named != config->digest) {
    return fail(Errc::kCorrupt,
                fmt::format("config {}: content is {}", image.config, config->digest.str()));
  }
  HULL_ASSIGN_OR_RETURN(std::string bytes, store.readBlob(config->digest));
  HULL_ASSIGN_OR_RETURN(oci::ImageConfig parsed,
                        oci::parseImageConfig(bytes).map_error([&](Error e) {
                          return Error{Errc::kCorrupt, "config " + image.config + ": " + e.message};
                        }));
  if (parsed.diff_ids.size() != image.layers.size()) {
    return fail(Errc::kCorrupt, fmt::format("config {}: {} diff IDs for {} layers", image.config,
                                            parsed.diff_ids.size(), image.layers.size()));
  }
  oci::Manifest m;
  m.media_type = oci::kMediaTypeImageManifest;
  m.config = descriptorOf(oci::kMediaTypeImageConfig, *config);
  for (std::size_t i = 0; i < image.layers.size(); ++i) {
    HULL_ASSIGN_OR_RETURN(oci::Descriptor l,
                          dockerLayer(store, contents, image.layers[i], parsed.diff_ids[i]));
    plan.needed.push_back(l.digest);
    m.layers.push_back(std::move(l));
  }
  HULL_ASSIGN_OR_RETURN(oci::Descriptor md, putManifest(store, m, contents));
  plan.needed.push_back(config->digest);
  plan.needed.push_back(md.digest);
  if (image.repo_tags.empty()) {
    plan.names.push_back({"", md});
    plan.untagged.push_back(config->digest);
  }
  for (const auto& tag : image.repo_tags) {
    HULL_ASSIGN_OR_RETURN(std::string name, store::normalizeName(tag).map_error([&](Error e) {
      return Error{Errc::kCorrupt, "manifest.json: RepoTags: " + e.message};
    }));
    plan.names.push_back({name, md});
  }
  return {};
}

Result<Planned> planDocker(const store::Store& store, Contents& contents) {
  HULL_ASSIGN_OR_RETURN(auto images, parseDockerManifest(contents.meta["manifest.json"]));
  Planned plan;
  for (const auto& image : images) HULL_TRY(planDockerImage(store, contents, image, plan));
  return plan;
}

}  // namespace

// --- OCI archive ---
namespace {

Result<const Entry*> ociBlob(const Contents& contents, const oci::Descriptor& d,
                             std::string_view role) {
  HULL_ASSIGN_OR_RETURN(const Entry* e, lookup(contents, "blobs/sha256/" + d.digest.hex(), role));
  if (e->size != d.size) {
    return fail(Errc::kCorrupt, fmt::format("{} {}: {} bytes, its descriptor says {}", role,
                                            d.digest.str(), e->size, d.size));
  }
  return e;
}

// Returns the image ID (the config digest).
Result<Digest> checkOciManifest(const store::Store& store, const Contents& contents,
                                const oci::Descriptor& d, Planned& plan) {
  HULL_TRY(ociBlob(contents, d, "manifest"));
  HULL_ASSIGN_OR_RETURN(oci::Manifest m, store.manifest(d).map_error([](Error e) {
    return Error{Errc::kCorrupt, e.message};
  }));
  HULL_TRY(ociBlob(contents, m.config, "config"));
  HULL_ASSIGN_OR_RETURN(std::string config, store.readBlob(m.config.digest));
  HULL_TRY(oci::parseImageConfig(config).map_error([&](Error e) {
    return Error{Errc::kCorrupt, "config " + m.config.digest.str() + ": " + e.message};
  }));
  plan.needed.push_back(d.digest);
  plan.needed.push_back(m.config.digest);
  for (const auto& l : m.layers) {
    HULL_TRY(ociBlob(contents, l, "layer"));
    HULL_TRY(checkedDiffId(store, l.digest, l.digest.str()));
    plan.needed.push_back(l.digest);
  }
  return m.config.digest;
}

// An index names the manifest for this machine (or its only manifest).
Result<oci::Descriptor> pickFromIndex(const store::Store& store, const Contents& contents,
                                      const oci::Descriptor& d) {
  HULL_TRY(ociBlob(contents, d, "index"));
  HULL_ASSIGN_OR_RETURN(std::string bytes, store.readBlob(d.digest));
  HULL_ASSIGN_OR_RETURN(oci::Index index, oci::parseIndex(bytes).map_error([](Error e) {
    return Error{Errc::kCorrupt, e.message};
  }));
  oci::Platform host = oci::hostPlatform();
  for (const auto& m : index.manifests) {
    if (!oci::isManifestType(m.media_type)) continue;
    if (index.manifests.size() == 1 || (m.platform && m.platform->os == host.os &&
                                        m.platform->architecture == host.architecture)) {
      return m;
    }
  }
  return fail(Errc::kNotFound, fmt::format("index {} has no image for {}/{}", d.digest.str(),
                                           host.os, host.architecture));
}

std::string ociName(const oci::Descriptor& d) {
  for (const char* key : {"io.containerd.image.name", oci::kAnnotationRefName.data()}) {
    if (auto it = d.annotations.find(key); it != d.annotations.end()) return it->second;
  }
  return {};
}

Result<Planned> planOci(const store::Store& store, Contents& contents) {
  HULL_ASSIGN_OR_RETURN(Json layout,
                        parseJson(contents.meta["oci-layout"], "oci-layout").map_error([](Error e) {
                          return Error{Errc::kCorrupt, e.message};
                        }));
  if (!layout.is_object() || !layout.contains("imageLayoutVersion")) {
    return fail(Errc::kCorrupt, "oci-layout: no imageLayoutVersion");
  }
  HULL_ASSIGN_OR_RETURN(oci::Index index,
                        oci::parseIndex(contents.meta["index.json"]).map_error([](Error e) {
                          return Error{Errc::kCorrupt, "index.json: " + e.message};
                        }));
  if (index.manifests.empty()) return fail(Errc::kCorrupt, "index.json: lists no images");
  Planned plan;
  for (const auto& d : index.manifests) {
    oci::Descriptor target = d;
    if (oci::isIndexType(d.media_type)) {
      HULL_ASSIGN_OR_RETURN(target, pickFromIndex(store, contents, d));
    } else if (!oci::isManifestType(d.media_type)) {
      return fail(Errc::kUnsupported, "index.json: unsupported media type " + d.media_type);
    }
    HULL_ASSIGN_OR_RETURN(Digest id, checkOciManifest(store, contents, target, plan));
    target.annotations.clear();
    std::string raw_name = ociName(d);
    if (raw_name.empty()) {
      plan.names.push_back({"", target});
      plan.untagged.push_back(id);
      continue;
    }
    HULL_ASSIGN_OR_RETURN(std::string name, store::normalizeName(raw_name).map_error([](Error e) {
      return Error{Errc::kCorrupt, "index.json: " + e.message};
    }));
    plan.names.push_back({name, target});
  }
  return plan;
}

// Removes what this load added that no name references. Needs the exclusive lock; when another
// command holds the store, the blobs stay for `hull system prune`.
void removeUnreferenced(const store::Store& store, const std::vector<Digest>& created) {
  if (created.empty()) return;
  auto lock = store.tryLock(store::LockMode::kExclusive);
  if (!lock) return;
  auto referenced = referencedBlobs(store);
  if (!referenced) return;
  for (const auto& d : created) {
    if (referenced->count(d)) continue;
    ::unlink(store.blobPath(d).c_str());
    (void)store.removeLayerRecord(d);  // prune sweeps one left behind
  }
}

Result<LoadResult> loadLocked(const store::Store& store, int fd, Contents& contents) {
  HULL_TRY(readArchive(store, fd, contents));
  Planned plan;
  if (contents.meta.count("index.json") && contents.meta.count("oci-layout")) {
    HULL_ASSIGN_OR_RETURN(plan, planOci(store, contents));
  } else if (contents.meta.count("manifest.json")) {
    HULL_ASSIGN_OR_RETURN(plan, planDocker(store, contents));
  } else {
    return fail(Errc::kCorrupt,
                "not an image archive: no manifest.json (docker-archive) or oci-layout and "
                "index.json (OCI archive)");
  }
  HULL_TRY(publishNames(store, plan.names, plan.needed));
  LoadResult result;
  for (const auto& n : plan.names) {
    if (!n.name.empty()) result.names.push_back(n.name);
  }
  for (const auto& id : plan.untagged) {
    if (std::find(result.untagged.begin(), result.untagged.end(), id) == result.untagged.end()) {
      result.untagged.push_back(id);
    }
  }
  return result;
}

}  // namespace

Result<LoadResult> loadArchive(const store::Store& store, int fd) {
  Contents contents;
  Result<LoadResult> result = [&]() -> Result<LoadResult> {
    HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
    return loadLocked(store, fd, contents);
  }();
  removeUnreferenced(store, contents.created);
  if (!result) return fail(std::move(result).error().wrap("load"));
  return result;
}

}  // namespace hull::engine
