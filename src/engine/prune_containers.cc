// Removing exited containers, and their disk use (prune_containers.h).
#include "engine/prune_containers.h"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>

#include "engine/container_run.h"
#include "engine/containers.h"
#include "engine/image_users.h"

namespace hull::engine {

namespace {

// An exited --rm container whose monitor is still alive is being removed by that monitor:
// removing it here too would race it (both deleting the same directory).
bool removedByItsMonitor(const ContainerRecord& r) {
  return r.auto_remove && r.monitor_pid > 0 && (::kill(r.monitor_pid, 0) == 0 || errno == EPERM);
}

// Under the container's lock, so a concurrent `start`-like update cannot slip between the check
// and the removal. Returns false when the container is no longer an exited one (or is gone: a
// --rm container's monitor removed it first).
Result<bool> removeIfExited(const Containers& containers, const std::string& id) {
  auto lock = containers.lock(id);
  if (!lock) return false;
  auto r = containers.load(id);
  if (!r) return false;
  (void)reconcileStaleState(*r);
  if (r->status != ContainerStatus::kExited || removedByItsMonitor(*r)) return false;
  std::error_code ec;
  auto removed = destroyContainer(containers, *r, false);
  if (!removed && fs::exists(containers.recordPath(id), ec)) return fail(removed.error());
  return true;
}

}  // namespace

int64_t treeBytes(const fs::path& dir) {
  std::set<std::pair<dev_t, ino_t>> seen;
  int64_t total = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += st.st_size;
  }
  return total;
}

Result<ContainerPruneReport> pruneContainers(const store::Store& store, bool dry_run) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, containers.list());
  ContainerPruneReport report;
  for (ContainerRecord& r : records) {
    (void)reconcileStaleState(r);
    if (r.status != ContainerStatus::kExited || removedByItsMonitor(r)) continue;
    int64_t bytes = treeBytes(containers.containerDir(r.id));
    if (!dry_run) {
      HULL_ASSIGN_OR_RETURN(bool removed, removeIfExited(containers, r.id));
      if (!removed) continue;
    }
    report.removed.push_back(r.id);
    report.bytes_freed += bytes;
  }
  return report;
}

Result<store::PruneReport> pruneImages(const store::Store& store, bool dry_run) {
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kExclusive));
  HULL_ASSIGN_OR_RETURN(std::vector<ImageUser> users, imageUsers(store.root()));
  std::set<std::string> used;
  for (const auto& u : users) used.insert(u.image_id);
  HULL_ASSIGN_OR_RETURN(std::vector<store::ImageRecord> all, store.allImages());
  std::set<Digest> named;
  for (const auto& r : all) {
    if (!r.name.empty()) named.insert(r.manifest.digest);
  }
  // Untagged entries of manifests without a name: the dangling images, each once.
  std::vector<std::pair<Digest, Digest>> dangling;  // manifest digest, image ID
  bool keeps = false;
  std::set<Digest> seen;
  for (const auto& r : all) {
    if (!r.name.empty() || named.count(r.manifest.digest) ||
        !seen.insert(r.manifest.digest).second) {
      continue;
    }
    auto id = store.imageId(r.manifest);
    Digest shown = id ? *id : r.manifest.digest;
    if (used.count(shown.str())) {
      keeps = true;
    } else {
      dangling.emplace_back(r.manifest.digest, shown);
    }
  }
  if (!keeps) return store.prune(store::PruneOptions{.dry_run = dry_run, .untagged = true});
  store::PruneReport report;
  for (const auto& [manifest, id] : dangling) {
    if (!dry_run) {
      auto dropped = store.dropUntagged(manifest);
      if (!dropped && dropped.error().code != Errc::kNotFound) return fail(dropped.error());
    }
    report.untagged.push_back(id);
  }
  HULL_ASSIGN_OR_RETURN(store::PruneReport blobs, store.prune(dry_run));
  blobs.untagged = std::move(report.untagged);
  return blobs;
}

Result<ContainerUsage> containerUsage(const store::Store& store) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, containers.list());
  ContainerUsage usage;
  for (ContainerRecord& r : records) {
    (void)reconcileStaleState(r);
    int64_t bytes = treeBytes(containers.containerDir(r.id) / "upper");
    ++usage.total;
    usage.bytes += bytes;
    if (r.status == ContainerStatus::kRunning) {
      ++usage.active;
    } else {
      usage.reclaimable += bytes;
    }
  }
  return usage;
}

}  // namespace hull::engine
