// Maintenance: reachability from index.json (mark), fsck (re-hash everything on disk), prune
// (sweep what is unreachable, and tmp/), disk usage.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/json.h"
#include "oci/media_types.h"
#include "store/internal.h"
#include "store/store.h"

namespace hull::store {
namespace internal {
namespace {

constexpr int kMaxIndexDepth = 8;

struct Walker {
  const Store& store;
  const WalkCallbacks& cb;
  std::set<Digest> read;  // manifests and indexes already descended into

  void issue(const oci::Descriptor& d, Role role, std::string what) {
    if (cb.on_issue) cb.on_issue(WalkIssue{d.digest, role, std::move(what)});
  }

  // Returns false when the blob is absent or its size disagrees with the descriptor.
  bool present(const oci::Descriptor& d, Role role, bool optional) {
    if (cb.on_blob) cb.on_blob(d, role);
    struct stat st {};
    if (::stat(store.blobPath(d.digest).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      if (!optional) issue(d, role, "missing");
      return false;
    }
    if (st.st_size != d.size) {
      issue(d, role, fmt::format("corrupt: {} bytes, its descriptor says {}", st.st_size, d.size));
      return false;
    }
    return true;
  }

  void visit(const oci::Descriptor& d, bool optional, int depth) {
    bool is_index = oci::isIndexType(d.media_type);
    Role role = is_index ? Role::kIndex : Role::kManifest;
    if (!present(d, role, optional) || !read.insert(d.digest).second) return;
    auto bytes = store.readBlob(d.digest);
    if (!bytes) {
      issue(d, role,
            bytes.error().code == Errc::kCorrupt ? "corrupt: " + bytes.error().message
                                                 : bytes.error().message);
      return;
    }
    if (is_index) {
      auto index = oci::parseIndex(*bytes);
      if (!index) return issue(d, role, "corrupt: " + index.error().message);
      if (depth >= kMaxIndexDepth) return issue(d, role, "corrupt: indexes nested too deep");
      for (const auto& child : index->manifests) {
        if (oci::isIndexType(child.media_type) || oci::isManifestType(child.media_type)) {
          visit(child, /*optional=*/true, depth + 1);
        } else {
          present(child, Role::kBlob, /*optional=*/true);
        }
      }
      return;
    }
    auto manifest = oci::parseManifest(*bytes);
    if (!manifest) return issue(d, role, "corrupt: " + manifest.error().message);
    present(manifest->config, Role::kConfig, false);
    for (const auto& layer : manifest->layers) {
      // Foreign layers live elsewhere (their urls); a store need not have them.
      present(layer, Role::kLayer, !layer.urls.empty());
    }
  }
};

Result<Sha256> hashFile(const fs::path& path) {
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDONLY | O_NOFOLLOW));
  Sha256 h;
  std::string buf(1u << 20, '\0');
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), buf.data(), buf.size()));
    if (n == 0) return h;
    h.update(buf.data(), n);
  }
}

bool isBlobName(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Sums the bytes of regular files under dir, counting hard-linked files once.
Result<int64_t> treeBytes(const fs::path& dir) {
  std::error_code ec;
  std::set<std::pair<dev_t, ino_t>> seen;
  int64_t total = 0;
  auto it =
      fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec == std::errc::no_such_file_or_directory) return int64_t{0};
  if (ec) return fail(Errc::kIo, "walk " + dir.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return fail(Errc::kIo, "walk " + dir.string() + ": " + ec.message());
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (seen.insert({st.st_dev, st.st_ino}).second) total += st.st_size;
  }
  return total;
}

}  // namespace

std::string_view roleName(Role r) {
  switch (r) {
    case Role::kManifest:
      return "manifest";
    case Role::kIndex:
      return "index";
    case Role::kConfig:
      return "config";
    case Role::kLayer:
      return "layer";
    case Role::kBlob:
      return "blob";
  }
  return "blob";
}

void walkImage(const Store& store, const oci::Descriptor& root, const WalkCallbacks& cb) {
  Walker w{store, cb, {}};
  w.visit(root, /*optional=*/false, 0);
}

Result<std::vector<BlobFile>> listBlobs(const Store& store) {
  fs::path dir = store.root() / "blobs" / "sha256";
  std::vector<BlobFile> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    BlobFile f;
    std::string name = it->path().filename().string();
    if (isBlobName(name))
      f.digest = Digest::fromSha256Hex(name);
    else
      f.stray = name;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile
    f.regular = S_ISREG(st.st_mode);
    f.size = st.st_size;
    out.push_back(std::move(f));
  }
  if (ec) return fail(Errc::kIo, "list " + dir.string() + ": " + ec.message());
  return out;
}

}  // namespace internal

namespace {

using internal::BlobFile;
using internal::Role;

// Untagged images show as <none>@<manifest digest>, the way Docker writes a dangling image's
// digest reference.
std::string imageName(const oci::Descriptor& d) {
  std::string name = internal::refName(d);
  return name.empty() ? "<none>@" + d.digest.str() : name;
}

// The blobs reachable from index.json, with the images that reach each one.
struct Reachable {
  oci::Index index;  // the snapshot of index.json that was walked
  std::map<Digest, std::set<std::string>> users;
  std::vector<std::pair<std::string, internal::WalkIssue>> issues;  // image name, issue
};

Reachable markIndex(const Store& store, oci::Index index) {
  Reachable r;
  r.index = std::move(index);
  for (const auto& entry : r.index.manifests) {
    std::string name = imageName(entry);
    internal::walkImage(
        store, entry,
        {.on_blob = [&](const oci::Descriptor& d, Role) { r.users[d.digest].insert(name); },
         .on_issue = [&](const internal::WalkIssue& i) { r.issues.emplace_back(name, i); }});
  }
  return r;
}

// Build cache records (cache/records/<key-hex>.json) keep the layer blob they name, like an
// image does. The store does not know the record's type (build sits above it): it reads only
// layer.blob.digest, and a record it cannot read keeps nothing (the build cache ignores it too).
void markCacheRecords(const Store& store, Reachable& r) {
  fs::path dir = store.root() / "cache" / "records";
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    auto text = readFile(it->path(), 64u << 10);
    if (!text) continue;
    auto j = parseJson(*text, "cache record");
    if (!j || !j->is_object()) continue;
    const Json* d = &*j;
    for (const char* key : {"layer", "blob", "digest"}) {
      if (!d->is_object() || !d->contains(key)) {
        d = nullptr;
        break;
      }
      d = &(*d)[key];
    }
    if (d == nullptr || !d->is_string()) continue;
    auto digest = Digest::parse(d->get<std::string>());
    if (digest) r.users[*digest].insert("<build cache>");
  }
}

Result<Reachable> mark(const Store& store) {
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(store));
  return markIndex(store, std::move(index));
}

}  // namespace

Result<std::vector<FsckProblem>> Store::fsck() const {
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(Reachable reach, mark(*this));
  std::map<Digest, FsckProblem> found;
  auto report = [&](const Digest& d, std::string what) {
    auto [it, added] = found.try_emplace(d, FsckProblem{d, std::move(what), {}});
    if (added) {
      auto users = reach.users.find(d);
      if (users != reach.users.end()) {
        it->second.images.assign(users->second.begin(), users->second.end());
      }
    }
  };
  for (const auto& [name, issue] : reach.issues) report(issue.blob, issue.what);
  HULL_ASSIGN_OR_RETURN(std::vector<BlobFile> files, internal::listBlobs(*this));
  std::vector<FsckProblem> stray;
  for (const BlobFile& f : files) {
    if (!f.stray.empty() || !f.regular) {
      std::string name = f.stray.empty() ? f.digest.hex() : f.stray;
      std::string what = f.regular
                             ? "stray file blobs/sha256/" + internal::printable(name)
                             : "not a regular file: blobs/sha256/" + internal::printable(name);
      if (f.stray.empty())
        report(f.digest, what);
      else
        stray.push_back(FsckProblem{Digest(), what, {}});
      continue;
    }
    auto hash = internal::hashFile(blobPath(f.digest));
    if (!hash) {
      if (hash.error().code == Errc::kIo && !hasBlob(f.digest)) continue;  // pruned meanwhile
      report(f.digest, "unreadable: " + hash.error().message);
      continue;
    }
    Digest got = hash->finish();
    if (got != f.digest) report(f.digest, "corrupt: content hashes to " + got.str());
  }
  std::vector<FsckProblem> out = std::move(stray);
  for (auto& [d, p] : found) out.push_back(std::move(p));
  return out;
}

namespace {

// Everything in tmp/ is stale once the exclusive lock is held: every writer stages under at
// least the shared lock.
Result<std::pair<int64_t, int64_t>> sweepStaging(const Store& store, bool dry_run) {
  int64_t entries = 0, bytes = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(store.tmpDir(), ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      HULL_ASSIGN_OR_RETURN(int64_t b, internal::treeBytes(it->path()));
      bytes += b;
    } else {
      bytes += st.st_size;
    }
    ++entries;
    if (!dry_run) HULL_TRY(removeAll(it->path()));
  }
  if (ec) return fail(Errc::kIo, "list " + store.tmpDir().string() + ": " + ec.message());
  return std::pair{entries, bytes};
}

// Removes the layer records whose blob is gone: those of the blobs prune just removed, and any
// left behind by a process that died between deleting a blob and its record. Other names in
// layers/ are left alone, as stray files in blobs/ are.
Result<void> sweepLayerRecords(const Store& store) {
  fs::path dir = store.root() / "layers";
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.ends_with(".json")) continue;
    std::string hex = name.substr(0, name.size() - 5);
    if (!internal::isBlobName(hex)) continue;
    Digest blob = Digest::fromSha256Hex(hex);
    if (!store.hasBlob(blob)) HULL_TRY(store.removeLayerRecord(blob));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(Errc::kIo, "list " + dir.string() + ": " + ec.message());
  }
  return {};
}

// The image IDs of the untagged entries whose manifest has no name (the manifest digest where it
// cannot be read), once each; then drops every untagged entry from index.
std::vector<Digest> takeUntagged(const Store& store, oci::Index& index) {
  std::set<Digest> named;
  for (const auto& d : index.manifests) {
    if (!internal::refName(d).empty()) named.insert(d.digest);
  }
  std::vector<Digest> ids;
  std::set<Digest> seen;
  for (const auto& d : index.manifests) {
    if (!internal::refName(d).empty() || named.count(d.digest) || !seen.insert(d.digest).second) {
      continue;
    }
    auto id = store.imageId(d);
    ids.push_back(id ? *id : d.digest);
  }
  std::erase_if(index.manifests,
                [](const oci::Descriptor& d) { return internal::refName(d).empty(); });
  return ids;
}

}  // namespace

Result<PruneReport> Store::prune(bool dry_run) const { return prune(PruneOptions{dry_run}); }

Result<PruneReport> Store::prune(const PruneOptions& options) const {
  const bool dry_run = options.dry_run;
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kExclusive));
  // Nobody can tag while the exclusive lock is held; index.lock still guards the rewrite.
  UniqueFd index_lock;
  if (options.untagged) {
    HULL_ASSIGN_OR_RETURN(index_lock, internal::lockIndexFile(*this));
  }
  HULL_ASSIGN_OR_RETURN(oci::Index index, internal::loadIndex(*this));
  std::size_t entries = index.manifests.size();
  PruneReport report;
  if (options.untagged) report.untagged = takeUntagged(*this, index);
  bool index_changed = index.manifests.size() != entries;
  Reachable reach = markIndex(*this, std::move(index));
  if (options.cache_roots) markCacheRecords(*this, reach);
  // A manifest that cannot be read hides what it references: sweeping now could delete the
  // layers of an image that is still repairable.
  for (const auto& [name, issue] : reach.issues) {
    if (issue.role == Role::kManifest || issue.role == Role::kIndex) {
      return fail(Errc::kCorrupt,
                  fmt::format("prune: image {}: {} {} is {}; remove the image or repair it first "
                              "(see fsck)",
                              name, internal::roleName(issue.role), issue.blob.str(), issue.what));
    }
  }
  if (index_changed && !dry_run) {
    HULL_TRY(internal::saveIndex(*this, reach.index).map_error([](Error e) {
      return e.wrap("prune: remove untagged images");
    }));
  }
  HULL_ASSIGN_OR_RETURN(std::vector<BlobFile> files, internal::listBlobs(*this));
  for (const BlobFile& f : files) {
    if (f.digest.empty() || reach.users.count(f.digest) > 0) continue;
    if (!dry_run && ::unlink(blobPath(f.digest).c_str()) != 0 && errno != ENOENT) {
      return failErrno("prune: remove blob " + f.digest.str());
    }
    report.removed.push_back(f.digest);
    report.bytes_freed += f.size;
  }
  if (!dry_run && !report.removed.empty()) HULL_TRY(fsyncPath(root_ / "blobs" / "sha256"));
  if (!dry_run) HULL_TRY(sweepLayerRecords(*this));
  HULL_ASSIGN_OR_RETURN(auto staging, sweepStaging(*this, dry_run));
  report.staging_removed = staging.first;
  report.bytes_freed += staging.second;
  std::sort(report.removed.begin(), report.removed.end());
  return report;
}

Result<DiskUsage> Store::diskUsage() const {
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(Reachable reach, mark(*this));
  HULL_ASSIGN_OR_RETURN(std::vector<BlobFile> files, internal::listBlobs(*this));
  DiskUsage du;
  for (const auto& d : reach.index.manifests) {
    if (!internal::refName(d).empty()) ++du.images;
  }
  for (const BlobFile& f : files) {
    if (!f.regular) continue;
    ++du.blobs;
    du.blob_bytes += f.size;
    if (f.digest.empty() || reach.users.count(f.digest) == 0) du.unreferenced_bytes += f.size;
  }
  HULL_ASSIGN_OR_RETURN(du.snapshot_bytes, internal::treeBytes(root_ / "snapshots"));
  return du;
}

}  // namespace hull::store
