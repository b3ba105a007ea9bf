// The store's layout and its names: opening (and creating) the OCI image layout at the root,
// index.json, and finding images by name, ID or digest.
#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "oci/media_types.h"
#include "store/internal.h"

namespace hull::store {
namespace {

constexpr std::string_view kLayoutVersion = "1.0.0";
constexpr std::size_t kIndexMax = 64u << 20;

std::string emptyIndex() {
  oci::Index index;
  index.media_type = std::string(oci::kMediaTypeImageIndex);
  return oci::serialize(index);
}

std::string layoutFile() {
  return canonicalJson(Json{{"imageLayoutVersion", std::string(kLayoutVersion)}});
}

// Creates target with data unless it exists; never replaces what another process wrote.
Result<void> createNoReplace(const fs::path& target, std::string_view data,
                             const fs::path& staging_dir) {
  fs::path staging = uniquePath(staging_dir, fmt::format("init-{}", ::getpid()));
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(staging, O_WRONLY | O_CREAT | O_EXCL, 0644));
  ScopeExit cleanup([&] { ::unlink(staging.c_str()); });
  HULL_TRY(writeAll(fd.get(), data));
  if (::fsync(fd.get()) != 0) return failErrno("fsync " + staging.string());
  if (::link(staging.c_str(), target.c_str()) != 0 && errno != EEXIST) {
    return failErrno("create " + target.string());
  }
  return fsyncPath(target.parent_path());
}

bool pathExists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

Result<void> checkLayoutFile(const fs::path& path) {
  auto text = readFile(path, 1u << 20);
  if (!text) return fail(text.error().wrap("store layout"));
  auto j = parseJson(*text, path.string());
  if (!j) return fail(Errc::kCorrupt, j.error().message);
  auto it = j->is_object() ? j->find("imageLayoutVersion") : j->end();
  if (!j->is_object() || it == j->end() || !it->is_string()) {
    return fail(Errc::kCorrupt, path.string() + ": no imageLayoutVersion");
  }
  if (it->get<std::string>() != kLayoutVersion) {
    return fail(
        Errc::kCorrupt,
        fmt::format("{}: imageLayoutVersion \"{}\" is not supported "
                    "(want \"{}\")",
                    path.string(), internal::printable(it->get<std::string>()), kLayoutVersion));
  }
  return {};
}

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

ImageRecord recordOf(const oci::Descriptor& d) { return ImageRecord{internal::refName(d), d}; }

}  // namespace

Result<Store> Store::open(const fs::path& root) {
  if (root.empty()) return fail(Errc::kInvalidArgument, "store root is empty");
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec);
  if (ec) return fail(Errc::kIo, "store root " + root.string() + ": " + ec.message());
  if (abs.has_parent_path()) HULL_TRY(mkdirAll(abs.parent_path()));
  if (::mkdir(abs.c_str(), 0700) != 0 && errno != EEXIST) return failErrno("mkdir " + abs.string());
  struct stat st {};
  if (::stat(abs.c_str(), &st) != 0) return failErrno("stat " + abs.string());
  if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::kInvalidArgument, "store root " + abs.string() + " is not a directory");
  }
  fs::path canonical = fs::canonical(abs, ec);
  if (ec) return fail(Errc::kIo, "store root " + abs.string() + ": " + ec.message());
  Store store(std::move(canonical));
  HULL_TRY(store.initialize());
  return store;
}

Result<void> Store::initialize() const {
  for (const char* dir :
       {"blobs/sha256", "layers", "snapshots", "cache", "containers", "volumes", "tmp"}) {
    HULL_TRY(mkdirAll(root_ / dir));
  }
  fs::path layout = root_ / "oci-layout";
  fs::path index = root_ / "index.json";
  if (!pathExists(layout) || !pathExists(index)) {
    // Staging in tmp/ happens under the shared lock, so a concurrent prune cannot remove it.
    HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
    HULL_TRY(createNoReplace(layout, layoutFile(), tmpDir()));
    HULL_TRY(createNoReplace(index, emptyIndex(), tmpDir()));
  }
  return checkLayoutFile(layout);
}

namespace internal {

std::string refName(const oci::Descriptor& d) {
  auto it = d.annotations.find(std::string(oci::kAnnotationRefName));
  return it == d.annotations.end() ? std::string() : it->second;
}

std::string_view repositoryOf(std::string_view name) {
  name = name.substr(0, name.find('@'));
  std::size_t colon = name.rfind(':');
  std::size_t slash = name.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    return name.substr(0, colon);
  }
  return name;
}

Result<oci::Index> loadIndex(const Store& store) {
  fs::path path = store.root() / "index.json";
  auto text = readFile(path, kIndexMax);
  if (!text) {
    if (!pathExists(path)) return fail(Errc::kCorrupt, path.string() + ": missing");
    if (text.error().code == Errc::kInvalidArgument) {
      return fail(Errc::kCorrupt, text.error().message);
    }
    return fail(text.error());
  }
  auto j = parseJson(*text, path.string());
  if (!j) return fail(Errc::kCorrupt, j.error().message);
  auto index = oci::indexFromJson(*j);
  if (!index) return fail(Errc::kCorrupt, path.string() + ": " + index.error().message);
  return index;
}

Result<void> saveIndex(const Store& store, const oci::Index& index) {
  oci::Index out = index;
  out.schema_version = 2;
  out.media_type = std::string(oci::kMediaTypeImageIndex);
  return writeFileAtomic(store.root() / "index.json", oci::serialize(out), 0644, store.tmpDir());
}

}  // namespace internal

Result<std::vector<ImageRecord>> Store::images() const {
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  std::vector<ImageRecord> out;
  for (const auto& d : index.manifests) {
    if (!internal::refName(d).empty()) out.push_back(recordOf(d));
  }
  return out;
}

Result<std::vector<ImageRecord>> Store::allImages() const {
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  std::vector<ImageRecord> out;
  for (const auto& d : index.manifests) out.push_back(recordOf(d));
  return out;
}

Result<Digest> Store::imageId(const oci::Descriptor& manifest) const {
  if (oci::isIndexType(manifest.media_type)) return manifest.digest;
  HULL_ASSIGN_OR_RETURN(oci::Manifest m, this->manifest(manifest));
  return m.config.digest;
}

namespace {

// Entries whose image ID starts with hex; named entries first, in index order.
Result<ImageRecord> findById(const Store& store, const oci::Index& index, std::string_view hex,
                             std::string_view ref) {
  std::set<Digest> ids;
  std::optional<ImageRecord> named, unnamed;
  for (const auto& d : index.manifests) {
    auto id = store.imageId(d);
    if (!id || !id->hex().starts_with(hex)) continue;  // unreadable images match nothing
    ids.insert(*id);
    auto& slot = internal::refName(d).empty() ? unnamed : named;
    if (!slot) slot = recordOf(d);
  }
  if (ids.size() > 1) {
    return fail(Errc::kInvalidArgument,
                fmt::format("ambiguous image ID {}: it matches {} images", ref, ids.size()));
  }
  if (named) return *named;
  if (unnamed) return *unnamed;
  return fail(Errc::kNotFound, "image not found: " + internal::printable(ref));
}

std::optional<ImageRecord> findByDigest(const oci::Index& index, const Digest& digest,
                                        std::string_view repository) {
  for (const auto& d : index.manifests) {
    if (d.digest != digest) continue;
    std::string name = internal::refName(d);
    if (repository.empty() || internal::repositoryOf(name) == repository) return recordOf(d);
  }
  return std::nullopt;
}

}  // namespace

Result<ImageRecord> Store::find(std::string_view ref) const {
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  auto not_found = [&] {
    return fail(Errc::kNotFound, "image not found: " + internal::printable(ref));
  };
  // "sha256:<hex>": a manifest digest, else a full or short image ID.
  if (ref.starts_with("sha256:")) {
    std::string_view hex = ref.substr(7);
    if (hex.size() < 4 || hex.size() > 64 || !isLowerHex(hex)) {
      return fail(Errc::kInvalidArgument,
                  "invalid image ID or digest: " + internal::printable(ref));
    }
    if (hex.size() == 64) {
      if (auto r = findByDigest(index, Digest::fromSha256Hex(std::string(hex)), "")) return *r;
    }
    return findById(*this, index, hex, ref);
  }
  auto name = normalizeName(ref);
  if (!name) {
    // A short or full ID is not always a valid name (64 hex digits never are).
    if (ref.size() >= 4 && ref.size() <= 64 && isLowerHex(ref)) {
      return findById(*this, index, ref, ref);
    }
    return fail(name.error());
  }
  if (auto at = name->find('@'); at != std::string::npos) {
    Digest digest = Digest::fromSha256Hex(name->substr(at + 8));
    if (auto r = findByDigest(index, digest, internal::repositoryOf(*name))) return *r;
    return not_found();
  }
  for (const auto& d : index.manifests) {
    if (internal::refName(d) == *name) return recordOf(d);
  }
  if (ref.size() >= 4 && isLowerHex(ref)) return findById(*this, index, ref, ref);
  return not_found();
}

namespace {

Result<void> checkImageType(const oci::Descriptor& manifest, std::string_view context) {
  if (!oci::isManifestType(manifest.media_type) && !oci::isIndexType(manifest.media_type)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: media type \"{}\" is not an image "
                            "manifest or index",
                            context, internal::printable(manifest.media_type)));
  }
  return {};
}

// Refuses an image that is not all there: every entry must always lead to a whole image.
Result<void> checkWhole(const Store& store, const oci::Descriptor& manifest,
                        std::string_view context) {
  std::optional<internal::WalkIssue> issue;
  internal::walkImage(store, manifest,
                      {.on_blob = nullptr, .on_issue = [&](const internal::WalkIssue& i) {
                         if (!issue) issue = i;
                       }});
  if (!issue) return {};
  return fail(issue->what == "missing" ? Errc::kNotFound : Errc::kCorrupt,
              fmt::format("{}: {} {} is {}", context, internal::roleName(issue->role),
                          issue->blob.str(), issue->what));
}

bool pointsAt(const oci::Index& index, const Digest& digest) {
  return std::any_of(index.manifests.begin(), index.manifests.end(),
                     [&](const oci::Descriptor& d) { return d.digest == digest; });
}

oci::Descriptor untaggedEntry(oci::Descriptor d) {
  d.annotations.erase(std::string(oci::kAnnotationRefName));
  return d;
}

// Points the entry of `name` at `entry`; untagged entries of the new manifest go (it has a name
// now). A manifest left without any entry stays untagged when keep_old says so.
void moveName(oci::Index& index, const std::string& name, const oci::Descriptor& entry,
              const std::function<bool(const oci::Descriptor&)>& keep_old) {
  auto& m = index.manifests;
  std::erase_if(m, [&](const oci::Descriptor& d) {
    return d.digest == entry.digest && internal::refName(d).empty();
  });
  auto it = std::find_if(m.begin(), m.end(),
                         [&](const oci::Descriptor& d) { return internal::refName(d) == name; });
  if (it == m.end()) {
    m.push_back(entry);
    return;
  }
  oci::Descriptor old = *it;
  *it = entry;
  if (!pointsAt(index, old.digest) && keep_old(old)) m.push_back(untaggedEntry(std::move(old)));
}

}  // namespace

Result<void> Store::tag(std::string_view name, const oci::Descriptor& manifest) const {
  HULL_ASSIGN_OR_RETURN(std::string normalized, normalizeName(name));
  std::string context = "tag " + normalized;
  if (normalized.find('@') != std::string::npos) {
    return fail(Errc::kInvalidArgument, context + ": a name to tag cannot contain a digest");
  }
  HULL_TRY(checkImageType(manifest, context));
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  HULL_TRY(checkWhole(*this, manifest, context));
  HULL_ASSIGN_OR_RETURN(UniqueFd index_lock, internal::lockIndexFile(*this));
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  oci::Descriptor entry = manifest;
  entry.annotations[std::string(oci::kAnnotationRefName)] = normalized;
  // Docker names images by ID: a name moving to another manifest of the same image (a docker-
  // archive load of it, say) leaves no dangling image, and neither does an old manifest that can
  // no longer be read (kept, it would stop every prune).
  auto keep_old = [&](const oci::Descriptor& old) {
    auto old_id = imageId(old);
    auto new_id = imageId(manifest);
    return old_id && (!new_id || *old_id != *new_id);
  };
  moveName(index, normalized, entry, keep_old);
  return internal::saveIndex(*this, index).map_error([&](Error e) { return e.wrap(context); });
}

Result<void> Store::untag(std::string_view name) const {
  HULL_ASSIGN_OR_RETURN(std::string normalized, normalizeName(name));
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(UniqueFd index_lock, internal::lockIndexFile(*this));
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  auto& m = index.manifests;
  auto it = std::find_if(m.begin(), m.end(), [&](const oci::Descriptor& d) {
    return internal::refName(d) == normalized;
  });
  if (it == m.end()) return fail(Errc::kNotFound, "image not found: " + normalized);
  m.erase(it);
  return internal::saveIndex(*this, index).map_error([&](Error e) {
    return e.wrap("untag " + normalized);
  });
}

Result<void> Store::keep(const oci::Descriptor& manifest) const {
  std::string context = "keep untagged image " + manifest.digest.str();
  HULL_TRY(checkImageType(manifest, context));
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  HULL_TRY(checkWhole(*this, manifest, context));
  HULL_ASSIGN_OR_RETURN(UniqueFd index_lock, internal::lockIndexFile(*this));
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  if (pointsAt(index, manifest.digest)) return {};
  index.manifests.push_back(untaggedEntry(manifest));
  return internal::saveIndex(*this, index).map_error([&](Error e) { return e.wrap(context); });
}

Result<void> Store::dropUntagged(const Digest& manifest) const {
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(UniqueFd index_lock, internal::lockIndexFile(*this));
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  std::size_t dropped = std::erase_if(index.manifests, [&](const oci::Descriptor& d) {
    return d.digest == manifest && internal::refName(d).empty();
  });
  if (dropped == 0) return fail(Errc::kNotFound, "untagged image not found: " + manifest.str());
  return internal::saveIndex(*this, index).map_error([&](Error e) {
    return e.wrap("remove untagged image " + manifest.str());
  });
}

Result<oci::Manifest> Store::manifest(const oci::Descriptor& d) const {
  std::string context = "manifest " + d.digest.str();
  HULL_ASSIGN_OR_RETURN(std::string bytes,
                        readBlob(d.digest).map_error([&](Error e) { return e.wrap(context); }));
  if (d.size > 0 && static_cast<int64_t>(bytes.size()) != d.size) {
    return fail(Errc::kCorrupt,
                fmt::format("{}: {} bytes, its descriptor says {}", context, bytes.size(), d.size));
  }
  return oci::parseManifest(bytes).map_error([&](Error e) { return e.wrap(context); });
}

Result<oci::ImageConfig> Store::config(const oci::Manifest& m) const {
  std::string context = "image config " + m.config.digest.str();
  HULL_ASSIGN_OR_RETURN(std::string bytes, readBlob(m.config.digest).map_error([&](Error e) {
    return e.wrap(context);
  }));
  return oci::parseImageConfig(bytes).map_error([&](Error e) { return e.wrap(context); });
}

}  // namespace hull::store
