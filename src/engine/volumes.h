// Named volumes, the "local" driver: `<root>/volumes/<name>/_data` holds the data and
// `<root>/volumes/<name>/volume.json` the record (docs/commands/volume.md). Anonymous volumes
// are ordinary volumes with a 64-hex name and the label "hull.volume.anonymous".
//
// Concurrency: creation stages the whole directory in tmp/ and renames it into place, so two
// `run`s naming the same new volume both succeed and share one; removal renames the volume into
// tmp/ first, so a reader never sees a half-removed volume.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "base/json.h"
#include "base/result.h"

namespace hull::engine {

inline constexpr std::string_view kAnonymousVolumeLabel = "hull.volume.anonymous";

struct VolumeInfo {
  std::string name;
  std::string driver = "local";
  std::string created;  // RFC 3339, UTC
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;  // driver options (none for "local" yet)
  std::string mountpoint;                      // absolute path of _data
  std::string scope = "local";
};
// Docker's `volume inspect` object (Name, Driver, CreatedAt, Labels, Mountpoint, Options, Scope).
OrderedJson toJson(const VolumeInfo& v);

// Docker's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters).
bool isValidVolumeName(std::string_view name);
// 64 random hex digits (getrandom).
std::string randomVolumeName();

class VolumeStore {
 public:
  // `root` is the store root; volumes live in root/volumes, staging in root/tmp.
  static Result<VolumeStore> open(const fs::path& root);

  // Creates a volume, or returns the existing one of that name (Docker's `volume create` and
  // `run -v name:/dst` both do). An empty name makes an anonymous volume.
  Result<VolumeInfo> create(std::string_view name,
                            const std::map<std::string, std::string>& labels = {});
  Result<VolumeInfo> inspect(std::string_view name) const;  // kNotFound when absent
  Result<std::vector<VolumeInfo>> list() const;             // sorted by name
  // Removes a volume. Refuses (kBusy, naming the containers) one that a container uses, whether
  // it runs or not; force only turns "no such volume" into success, as Docker's -f does.
  Result<void> remove(std::string_view name, bool force = false);
  // The containers (64-hex ids) whose config.json mounts this volume.
  Result<std::vector<std::string>> users(std::string_view name) const;
  // Removes the anonymous volumes no container uses (every unused volume with `all`, as
  // `docker volume prune -a`); returns the names removed.
  Result<std::vector<std::string>> prune(bool all = false);

  fs::path volumesDir() const { return root_ / "volumes"; }
  fs::path dataPath(std::string_view name) const;

 private:
  explicit VolumeStore(fs::path root) : root_(std::move(root)) {}
  fs::path root_;
};

}  // namespace hull::engine
