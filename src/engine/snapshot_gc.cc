// Snapshot collection (snapshot_gc.h).
#include "engine/snapshot_gc.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "engine/containers.h"
#include "engine/prune_containers.h"
#include "engine/rootfs_internal.h"
#include "engine/text_internal.h"
#include "oci/media_types.h"

namespace hull::engine {

namespace {

using detail::kEmptySnapshot;
using detail::kShortIdLength;
using detail::splitFields;

constexpr int kMaxIndexDepth = 8;

// What must stay: snapshot names and short link names.
struct Needed {
  std::set<std::string> names;
  std::set<std::string> shorts;
  bool unsure = false;
};

// Decodes the \ooo escapes the kernel writes for space, tab, newline and backslash.
std::string unescapeMountinfo(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](std::size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

void needChain(Needed& needed, const std::vector<Digest>& diff_ids) {
  if (diff_ids.empty()) needed.names.insert(std::string(kEmptySnapshot));
  for (const Digest& c : chainIds(diff_ids)) needed.names.insert(c.hex());
}

// The chain of one manifest or index in the store; a child manifest of an index that is absent
// is a platform never fetched and needs nothing.
void needImage(const store::Store& store, const oci::Descriptor& d, int depth, Needed& needed) {
  if (depth > kMaxIndexDepth) {
    needed.unsure = true;
    return;
  }
  if (oci::isIndexType(d.media_type)) {
    auto bytes = store.readBlob(d.digest);
    auto index = bytes ? oci::parseIndex(*bytes) : fail(bytes.error());
    if (!index) {
      needed.unsure = true;
      return;
    }
    for (const auto& child : index->manifests) {
      if (store.hasBlob(child.digest)) needImage(store, child, depth + 1, needed);
    }
    return;
  }
  auto manifest = store.manifest(d);
  auto config = manifest ? store.config(*manifest) : fail(manifest.error());
  if (!config) {
    needed.unsure = true;
    return;
  }
  needChain(needed, config->diff_ids);
}

// The config of the image a container record names, if the store still has it.
std::optional<oci::ImageConfig> containerImageConfig(const store::Store& store,
                                                     const std::string& image_id) {
  auto id = Digest::parse(image_id);
  if (!id) return std::nullopt;
  auto bytes = store.readBlob(*id);
  if (!bytes) return std::nullopt;
  auto config = oci::parseImageConfig(*bytes);
  if (!config) return std::nullopt;
  return *config;
}

Result<std::string> readMountinfo() { return readFile("/proc/self/mountinfo"); }

// Mount points of this namespace, and what the overlays among them name as lower dirs.
struct Mounts {
  std::set<std::string> points;
  std::vector<std::string> lowers;
};

Mounts parseMounts(std::string_view text) {
  Mounts m;
  for (std::string_view line : splitFields(text, '\n')) {
    auto fields = splitFields(line, ' ');
    if (fields.size() > 4) m.points.insert(unescapeMountinfo(fields[4]));
  }
  m.lowers = overlayLowerDirs(text);
  return m;
}

void needLowers(Needed& needed, const fs::path& snapshots, const std::vector<std::string>& lowers) {
  // Mounts name lower dirs either relative to snapshots/ ("l/<short>") or by absolute path.
  std::string prefix = fs::absolute(snapshots).lexically_normal().string() + "/";
  for (const std::string& dir : lowers) {
    std::string rest = dir.starts_with(prefix) ? dir.substr(prefix.size()) : dir;
    if (rest.starts_with("l/")) {
      needed.shorts.insert(rest.substr(2, rest.find('/', 2) - 2));
    } else if (dir.starts_with(prefix)) {
      needed.names.insert(rest.substr(0, rest.find('/')));
    }
  }
}

// Containers that have not exited: mounted ones are covered by mountinfo; one that is not
// mounted here (another mount namespace) is traced to its image's chain, or makes us unsure.
Result<void> needContainers(const store::Store& store, const Mounts& mounts, Needed& needed) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, containers.list());
  for (ContainerRecord& r : records) {
    (void)reconcileStaleState(r);
    if (r.status == ContainerStatus::kExited) continue;  // its rootfs was taken down at exit
    if (auto config = containerImageConfig(store, r.image_id)) {
      needChain(needed, config->diff_ids);
    } else if (!mounts.points.count(fs::absolute(containers.containerDir(r.id) / "rootfs")
                                        .lexically_normal()
                                        .string())) {
      needed.unsure = true;
    }
  }
  return {};
}

Result<Needed> neededSnapshots(const store::Store& store, const fs::path& snapshots) {
  Needed needed;
  HULL_ASSIGN_OR_RETURN(auto records, store.allImages());
  for (const auto& r : records) needImage(store, r.manifest, 0, needed);
  auto text = readMountinfo();
  if (!text) {
    needed.unsure = true;
    return needed;
  }
  Mounts mounts = parseMounts(*text);
  needLowers(needed, snapshots, mounts.lowers);
  HULL_TRY(needContainers(store, mounts, needed));
  return needed;
}

bool isSnapshotName(const std::string& name) {
  return name == kEmptySnapshot ||
         (name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos);
}

std::string shortOf(const fs::path& snapshot, const std::string& name) {
  auto link = readFile(snapshot / "link", 256);
  std::string s = link ? *link : name.substr(0, std::min(name.size(), kShortIdLength));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Moves the snapshot out of sight first (a crash half way through a removal must never leave a
// snapshot with its link file but part of its diff), then removes it from tmp/.
Result<void> removeSnapshot(const store::Store& store, const fs::path& dir, const std::string& s) {
  fs::path staging = uniquePath(store.tmpDir(), "snapshot-gc");
  if (::rename(dir.c_str(), staging.c_str()) != 0) return failErrno("move " + dir.string());
  fs::path link = dir.parent_path() / "l" / s;
  if (::unlink(link.c_str()) != 0 && errno != ENOENT) return failErrno("unlink " + link.string());
  return removeAll(staging);
}

// Short links whose snapshot is gone.
Result<int64_t> removeDanglingLinks(const fs::path& snapshots, bool dry_run) {
  int64_t n = 0;
  std::error_code ec;
  fs::directory_iterator it(snapshots / "l", ec);
  if (ec) return n;
  for (const auto& entry : it) {
    struct stat st {};
    if (!entry.is_symlink(ec) || ::stat(entry.path().c_str(), &st) == 0 || errno != ENOENT) {
      continue;
    }
    ++n;
    if (!dry_run && ::unlink(entry.path().c_str()) != 0 && errno != ENOENT) {
      return failErrno("unlink " + entry.path().string());
    }
  }
  return n;
}

}  // namespace

std::vector<Digest> chainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    out.push_back(i == 0 ? diff_ids[0]
                         : Digest::ofBytes(out.back().str() + " " + diff_ids[i].str()));
  }
  return out;
}

std::vector<std::string> overlayLowerDirs(std::string_view mountinfo) {
  std::vector<std::string> out;
  for (std::string_view line : splitFields(mountinfo, '\n')) {
    // ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTS
    std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    auto tail = splitFields(line.substr(dash + 3), ' ');
    if (tail.size() < 3 || tail[0] != "overlay") continue;
    for (std::string_view opt : splitFields(tail[2], ',')) {
      // lowerdir=A:B from mount(2); lowerdir+=A and datadir+=A, one per layer, from fsconfig.
      std::size_t eq = opt.find('=');
      std::string_view key = opt.substr(0, eq);
      if (eq == std::string_view::npos ||
          (key != "lowerdir" && key != "lowerdir+" && key != "datadir+")) {
        continue;
      }
      for (std::string_view dir : splitFields(opt.substr(eq + 1), ':')) {
        if (!dir.empty()) out.push_back(unescapeMountinfo(dir));
      }
    }
  }
  return out;
}

namespace {

// Lists what a collection would remove; the caller holds the store lock.
Result<std::pair<SnapshotPrune, std::vector<std::string>>> plan(const store::Store& store) {
  fs::path snapshots = store.root() / "snapshots";
  SnapshotPrune report;
  std::vector<std::string> shorts;
  HULL_ASSIGN_OR_RETURN(Needed needed, neededSnapshots(store, snapshots));
  report.unsure = needed.unsure;
  std::error_code ec;
  fs::directory_iterator it(snapshots, ec);
  if (ec) return std::pair{report, shorts};                     // no snapshots yet
  std::vector<std::pair<std::string, std::string>> candidates;  // name, short
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (!isSnapshotName(name) || !entry.is_directory(ec)) continue;
    ++report.total;
    std::string s = shortOf(entry.path(), name);
    if (needed.names.count(name) || needed.shorts.count(s) || needed.unsure) {
      ++report.kept;
      continue;
    }
    candidates.emplace_back(name, s);
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& [name, s] : candidates) {
    report.bytes_freed += treeBytes(snapshots / name);
    report.removed.push_back(name);
    shorts.push_back(s);
  }
  return std::pair{report, shorts};
}

}  // namespace

Result<SnapshotPrune> planSnapshotPrune(const store::Store& store) {
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(auto planned, plan(store));
  return planned.first;
}

Result<SnapshotPrune> pruneSnapshots(const store::Store& store, bool dry_run) {
  // Exclusive: no `hull run` is between resolving its image and mounting its overlay (it holds
  // the shared lock for all of that), so every snapshot a container will use is either in
  // mountinfo already or will be unpacked again by that run after we are done.
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kExclusive));
  fs::path snapshots = store.root() / "snapshots";
  HULL_ASSIGN_OR_RETURN(auto planned, plan(store));
  auto& [report, shorts] = planned;
  for (std::size_t i = 0; i < report.removed.size() && !dry_run; ++i) {
    HULL_TRY(removeSnapshot(store, snapshots / report.removed[i], shorts[i]));
  }
  HULL_ASSIGN_OR_RETURN(report.links_removed, removeDanglingLinks(snapshots, dry_run));
  return report;
}

}  // namespace hull::engine
