#include "engine/volumes.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "oci/image.h"

namespace hull::engine {

namespace {

constexpr std::size_t kMaxRecord = 1u << 20;

bool isVolumeChar(char c, bool first) {
  bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum || (!first && (c == '_' || c == '.' || c == '-'));
}

Json recordJson(const VolumeInfo& v) {
  return Json{{"Name", v.name},     {"Driver", v.driver},   {"CreatedAt", v.created},
              {"Labels", v.labels}, {"Options", v.options}, {"Scope", v.scope}};
}

Result<VolumeInfo> recordFromJson(const Json& j) {
  if (!j.is_object()) return fail(Errc::kCorrupt, "volume.json: not an object");
  VolumeInfo v;
  try {
    v.name = j.at("Name").get<std::string>();
    v.driver = j.value("Driver", std::string("local"));
    v.created = j.value("CreatedAt", std::string());
    v.labels = j.value("Labels", std::map<std::string, std::string>{});
    v.options = j.value("Options", std::map<std::string, std::string>{});
    v.scope = j.value("Scope", std::string("local"));
  } catch (const std::exception& e) {
    return fail(Errc::kCorrupt, fmt::format("volume.json: {}", e.what()));
  }
  return v;
}

std::string nowTimestamp() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return oci::formatTimestamp(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

Result<void> checkName(std::string_view name) {
  if (!isValidVolumeName(name)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid volume name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                            "allowed, at least two characters",
                            name));
  }
  return {};
}

// The mount sources of a config.json (OCI runtime spec), read loosely: a container written by
// another version may carry fields this one does not know.
std::vector<std::string> mountSources(const fs::path& config) {
  std::vector<std::string> out;
  auto text = readFile(config, 16u << 20);
  if (!text) return out;
  auto j = parseJson(*text, "config.json");
  if (!j || !j->is_object()) return out;
  auto mounts = j->find("mounts");
  if (mounts == j->end() || !mounts->is_array()) return out;
  for (const auto& m : *mounts) {
    if (m.is_object() && m.contains("source") && m["source"].is_string()) {
      out.push_back(m["source"].get<std::string>());
    }
  }
  return out;
}

}  // namespace

OrderedJson toJson(const VolumeInfo& v) {
  OrderedJson j;
  j["CreatedAt"] = v.created;
  j["Driver"] = v.driver;
  j["Labels"] = v.labels;
  j["Mountpoint"] = v.mountpoint;
  j["Name"] = v.name;
  j["Options"] = v.options;
  j["Scope"] = v.scope;
  return j;
}

bool isValidVolumeName(std::string_view name) {
  if (name.size() < 2 || name.size() > 255) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!isVolumeChar(name[i], i == 0)) return false;
  }
  return true;
}

std::string randomVolumeName() {
  unsigned char bytes[32];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::abort();  // the kernel's random source cannot fail on Linux >= 3.17
    got += static_cast<std::size_t>(n);
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

Result<VolumeStore> VolumeStore::open(const fs::path& root) {
  HULL_TRY(mkdirAll(root / "volumes", 0700));
  HULL_TRY(mkdirAll(root / "tmp", 0700));
  return VolumeStore(root);
}

fs::path VolumeStore::dataPath(std::string_view name) const {
  return volumesDir() / std::string(name) / "_data";
}

Result<VolumeInfo> VolumeStore::create(std::string_view name,
                                       const std::map<std::string, std::string>& labels) {
  VolumeInfo v;
  v.name = name.empty() ? randomVolumeName() : std::string(name);
  HULL_TRY(checkName(v.name));
  v.labels = labels;
  if (name.empty()) v.labels[std::string(kAnonymousVolumeLabel)] = "";
  if (auto existing = inspect(v.name); existing || existing.error().code != Errc::kNotFound) {
    return existing;
  }
  v.created = nowTimestamp();
  // Stage the whole volume, then rename: a volume either exists complete or not at all, and of
  // two concurrent creators the first rename wins.
  fs::path staging = uniquePath(root_ / "tmp", "volume");
  HULL_TRY(mkdirAll(staging / "_data", 0755));
  HULL_TRY(writeFileAtomic(staging / "volume.json", recordJson(v).dump(2) + "\n"));
  fs::path target = volumesDir() / v.name;
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    int err = errno;
    (void)removeAll(staging);
    if (err != EEXIST && err != ENOTEMPTY) return failErrno("create volume " + v.name, err);
    return inspect(v.name);
  }
  HULL_TRY(fsyncPath(volumesDir()));
  v.mountpoint = dataPath(v.name).string();
  return v;
}

Result<VolumeInfo> VolumeStore::inspect(std::string_view name) const {
  HULL_TRY(checkName(name));
  fs::path record = volumesDir() / std::string(name) / "volume.json";
  auto text = readFile(record, kMaxRecord);
  if (!text) {
    std::error_code ec;
    if (!fs::exists(record, ec)) {
      return fail(Errc::kNotFound, fmt::format("no such volume: {}", name));
    }
    return fail(text.error().wrap("volume " + std::string(name)));
  }
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(*text, "volume.json"));
  HULL_ASSIGN_OR_RETURN(VolumeInfo v, recordFromJson(j));
  v.name = std::string(name);  // the directory's name is the truth
  v.mountpoint = dataPath(name).string();
  return v;
}

Result<std::vector<VolumeInfo>> VolumeStore::list() const {
  std::vector<VolumeInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(volumesDir(), ec)) {
    std::string name = entry.path().filename().string();
    if (!isValidVolumeName(name)) continue;
    auto v = inspect(name);
    if (!v) {
      if (v.error().code == Errc::kNotFound) continue;  // removed meanwhile
      return fail(v.error());
    }
    out.push_back(std::move(*v));
  }
  if (ec) return failErrno("list volumes", ec.value());
  std::sort(out.begin(), out.end(),
            [](const VolumeInfo& a, const VolumeInfo& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<std::string>> VolumeStore::users(std::string_view name) const {
  std::vector<std::string> ids;
  std::string data = dataPath(name).lexically_normal().string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "containers", ec)) {
    for (const auto& source : mountSources(entry.path() / "config.json")) {
      if (fs::path(source).lexically_normal().string() == data) {
        ids.push_back(entry.path().filename().string());
        break;
      }
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return failErrno("list containers", ec.value());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<void> VolumeStore::remove(std::string_view name, bool force) {
  auto v = inspect(name);
  if (!v) {
    if (force && v.error().code == Errc::kNotFound) return {};
    return fail(v.error());
  }
  HULL_ASSIGN_OR_RETURN(std::vector<std::string> ids, users(name));
  if (!ids.empty()) {
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id.substr(0, 12);
    return fail(Errc::kBusy,
                fmt::format("remove {}: volume is in use by container(s) {}", name, list));
  }
  // Out of sight first, then delete: a half-deleted volume is never visible under its name.
  fs::path doomed = uniquePath(root_ / "tmp", "volume-rm");
  fs::path source = volumesDir() / std::string(name);
  if (::rename(source.c_str(), doomed.c_str()) != 0) {
    if (errno == ENOENT) {
      if (force) return {};
      return fail(Errc::kNotFound, fmt::format("no such volume: {}", name));
    }
    return failErrno("remove volume " + std::string(name));
  }
  return removeAll(doomed);
}

Result<std::vector<std::string>> VolumeStore::prune(bool all) {
  std::vector<std::string> removed;
  HULL_ASSIGN_OR_RETURN(std::vector<VolumeInfo> volumes, list());
  for (const auto& v : volumes) {
    if (!all && !v.labels.contains(std::string(kAnonymousVolumeLabel))) continue;
    HULL_ASSIGN_OR_RETURN(std::vector<std::string> ids, users(v.name));
    if (!ids.empty()) continue;
    auto r = remove(v.name, true);
    if (!r) {
      if (r.error().code == Errc::kBusy) continue;
      return fail(r.error());
    }
    removed.push_back(v.name);
  }
  return removed;
}

}  // namespace hull::engine
