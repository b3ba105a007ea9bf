#include "engine/containers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

namespace hull::engine {
namespace {

constexpr std::size_t kMaxRecordSize = 4u << 20;

Json healthConfigJson(const oci::HealthConfig& h) {
  return {{"Test", h.test},
          {"Interval", h.interval},
          {"Timeout", h.timeout},
          {"StartPeriod", h.start_period},
          {"StartInterval", h.start_interval},
          {"Retries", h.retries}};
}

oci::HealthConfig healthConfigFrom(const Json& j) {
  return oci::HealthConfig{.test = j.value("Test", std::vector<std::string>{}),
                           .interval = j.value("Interval", int64_t{0}),
                           .timeout = j.value("Timeout", int64_t{0}),
                           .start_period = j.value("StartPeriod", int64_t{0}),
                           .start_interval = j.value("StartInterval", int64_t{0}),
                           .retries = j.value("Retries", 0)};
}

Json healthStateJson(const HealthState& h) {
  Json log = Json::array();
  for (const auto& r : h.log) {
    log.push_back(
        {{"Start", r.start}, {"End", r.end}, {"ExitCode", r.exit_code}, {"Output", r.output}});
  }
  return {{"Status", h.status}, {"FailingStreak", h.failing_streak}, {"Log", log}};
}

HealthState healthStateFrom(const Json& j) {
  HealthState h;
  h.status = j.value("Status", "starting");
  h.failing_streak = j.value("FailingStreak", 0);
  for (const auto& e : j.value("Log", Json::array())) {
    h.log.push_back(HealthResult{.start = e.value("Start", ""),
                                 .end = e.value("End", ""),
                                 .exit_code = e.value("ExitCode", 0),
                                 .output = e.value("Output", "")});
  }
  return h;
}

Json optionalList(const std::optional<std::vector<std::string>>& v) {
  return v ? Json(*v) : Json(nullptr);
}

std::optional<std::vector<std::string>> optionalListFrom(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<std::vector<std::string>>();
}

ContainerStatus statusFrom(std::string_view s) {
  if (s == "running") return ContainerStatus::kRunning;
  if (s == "exited") return ContainerStatus::kExited;
  return ContainerStatus::kCreated;
}

void decodeState(const Json& state, ContainerRecord& r) {
  r.status = statusFrom(state.value("Status", "created"));
  r.pid = state.value("Pid", 0);
  r.monitor_pid = state.value("MonitorPid", 0);
  r.exit_code = state.value("ExitCode", 0);
  r.started_at = state.value("StartedAt", "");
  r.finished_at = state.value("FinishedAt", "");
  r.error = state.value("Error", "");
  if (auto it = state.find("Health"); it != state.end() && it->is_object()) {
    r.health = healthStateFrom(*it);
  }
}

Result<ContainerRecord> decodeRecord(const Json& j) {
  ContainerRecord r;
  r.id = j.at("Id").get<std::string>();
  r.name = j.at("Name").get<std::string>();
  r.created = j.value("Created", "");
  r.image = j.value("Image", "");
  r.image_id = j.value("ImageId", "");
  r.args = j.value("Args", std::vector<std::string>{});
  r.entrypoint = optionalListFrom(j, "Entrypoint");
  r.cmd = optionalListFrom(j, "Cmd");
  r.env = j.value("Env", std::vector<std::string>{});
  r.working_dir = j.value("WorkingDir", "");
  r.user = j.value("User", "");
  r.hostname = j.value("Hostname", "");
  r.tty = j.value("Tty", false);
  r.open_stdin = j.value("OpenStdin", false);
  r.labels = j.value("Labels", std::map<std::string, std::string>{});
  if (auto it = j.find("Healthcheck"); it != j.end() && it->is_object()) {
    r.healthcheck = healthConfigFrom(*it);
  }
  r.stop_signal = j.value("StopSignal", "SIGTERM");
  r.stop_timeout = j.value("StopTimeout", 10);
  r.host_config = j.value("HostConfig", Json::object());
  r.auto_remove = j.value("AutoRemove", false);
  r.anonymous_volumes = j.value("AnonymousVolumes", std::vector<std::string>{});
  for (const auto& m : j.value("Mounts", Json::array())) {
    r.mounts.push_back(MountSummary{.type = m.value("Type", ""),
                                    .name = m.value("Name", ""),
                                    .source = m.value("Source", ""),
                                    .destination = m.value("Destination", ""),
                                    .rw = m.value("RW", true)});
  }
  decodeState(j.value("State", Json::object()), r);
  return r;
}

constexpr std::array kAdjectives = {
    "admiring", "agitated",   "amazing",    "awesome",       "blissful",  "bold",      "brave",
    "busy",     "charming",   "clever",     "compassionate", "competent", "confident", "cool",
    "dazzling", "determined", "eager",      "ecstatic",      "elastic",   "elegant",   "epic",
    "festive",  "focused",    "friendly",   "funny",         "gallant",   "gifted",    "happy",
    "hopeful",  "jolly",      "keen",       "kind",          "laughing",  "loving",    "magical",
    "modest",   "nice",       "optimistic", "peaceful",      "practical", "quirky",    "relaxed",
    "serene",   "sharp",      "stoic",      "sweet",         "tender",    "trusting",  "vibrant",
    "wizardly", "youthful",   "zealous"};
constexpr std::array kSurnames = {
    "albattani", "archimedes", "babbage",  "bardeen",  "bell",    "bohr",     "cannon",
    "curie",     "darwin",     "dijkstra", "einstein", "euler",   "fermat",   "feynman",
    "franklin",  "galileo",    "gauss",    "goldberg", "goodall", "hamilton", "hawking",
    "hopper",    "hypatia",    "johnson",  "kepler",   "knuth",   "lamarr",   "lovelace",
    "mayer",     "mcclintock", "meitner",  "morse",    "newton",  "noether",  "pascal",
    "pasteur",   "ritchie",    "shannon",  "shockley", "tesla",   "thompson", "torvalds",
    "turing",    "vaughan",    "wiles",    "wozniak",  "wright",  "yalow"};

}  // namespace

std::string_view containerStatusName(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kExited:
      return "exited";
  }
  return "unknown";
}

Json toJson(const ContainerRecord& r) {
  Json mounts = Json::array();
  for (const auto& m : r.mounts) {
    mounts.push_back({{"Type", m.type},
                      {"Name", m.name},
                      {"Source", m.source},
                      {"Destination", m.destination},
                      {"RW", m.rw}});
  }
  Json state = {{"Status", containerStatusName(r.status)},
                {"Pid", r.pid},
                {"MonitorPid", r.monitor_pid},
                {"ExitCode", r.exit_code},
                {"StartedAt", r.started_at},
                {"FinishedAt", r.finished_at},
                {"Error", r.error}};
  if (r.health) state["Health"] = healthStateJson(*r.health);
  return {{"Id", r.id},
          {"Name", r.name},
          {"Created", r.created},
          {"Image", r.image},
          {"ImageId", r.image_id},
          {"Args", r.args},
          {"Entrypoint", optionalList(r.entrypoint)},
          {"Cmd", optionalList(r.cmd)},
          {"Env", r.env},
          {"WorkingDir", r.working_dir},
          {"User", r.user},
          {"Hostname", r.hostname},
          {"Tty", r.tty},
          {"OpenStdin", r.open_stdin},
          {"Labels", r.labels},
          {"Healthcheck", r.healthcheck ? healthConfigJson(*r.healthcheck) : Json(nullptr)},
          {"StopSignal", r.stop_signal},
          {"StopTimeout", r.stop_timeout},
          {"HostConfig", r.host_config},
          {"AutoRemove", r.auto_remove},
          {"AnonymousVolumes", r.anonymous_volumes},
          {"Mounts", mounts},
          {"State", state}};
}

Result<ContainerRecord> containerRecordFromJson(const Json& j) {
  try {
    return decodeRecord(j);
  } catch (const std::exception& e) {
    return fail(Errc::kCorrupt, std::string("container record: ") + e.what());
  }
}

Result<std::string> validateContainerName(std::string_view name) {
  if (name.starts_with('/')) name.remove_prefix(1);
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool ok = name.size() >= 2 && alnum(name[0]) &&
            std::all_of(name.begin() + 1, name.end(),
                        [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
  if (!ok) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid container name \"{}\", only [a-zA-Z0-9][a-zA-Z0-9_.-]+ "
                            "are allowed",
                            name));
  }
  return std::string(name);
}

std::string generateContainerName(std::mt19937_64& rng, int attempt) {
  for (;;) {
    std::string name = fmt::format("{}_{}", kAdjectives[rng() % kAdjectives.size()],
                                   kSurnames[rng() % kSurnames.size()]);
    // Steve Wozniak is not boring (Docker's one exception).
    if (name == "boring_wozniak") continue;
    if (attempt > 0) name += std::to_string(rng() % 10);
    return name;
  }
}

Result<std::string> newContainerId() {
  std::array<unsigned char, 32> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  std::string id;
  for (unsigned char b : bytes) id += fmt::format("{:02x}", b);
  return id;
}

std::string rfc3339Nano(int64_t seconds, int64_t nanoseconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanoseconds);
}

std::string nowRfc3339Nano() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339Nano(ts.tv_sec, ts.tv_nsec);
}

Result<void> replaceFile(const fs::path& target, std::string_view data, mode_t mode, bool durable) {
  if (durable) return writeFileAtomic(target, data, mode);
  fs::path tmp = uniquePath(target.parent_path(), ".tmp");
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
  HULL_TRY(writeAll(fd.get(), data).map_error([&](Error e) {
    ::unlink(tmp.c_str());
    return e.wrap(tmp.string());
  }));
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    auto failed = failErrno("rename " + tmp.string());
    ::unlink(tmp.c_str());
    return failed;
  }
  return {};
}

Result<FileLock> FileLock::acquire(const fs::path& path) {
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDWR | O_CREAT, 0600));
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return failErrno("flock " + path.string());
  }
  return FileLock(std::move(fd));
}

Containers::Containers(fs::path store_root)
    : dir_(store_root / "containers"), runtime_root_(store_root / "runtime") {}

Result<void> Containers::create(ContainerRecord& record) const {
  HULL_TRY(mkdirAll(dir_, 0700));
  HULL_ASSIGN_OR_RETURN(FileLock names, FileLock::acquire(dir_ / "names.lock"));
  HULL_ASSIGN_OR_RETURN(auto all, list());
  auto taken = [&](const std::string& n) {
    return std::any_of(all.begin(), all.end(), [&](const auto& r) { return r.name == n; });
  };
  if (record.name.empty()) {
    std::mt19937_64 rng(std::random_device{}());
    for (int attempt = 0; record.name.empty() || taken(record.name); ++attempt) {
      record.name = generateContainerName(rng, attempt / 10);
    }
  } else if (taken(record.name)) {
    auto owner =
        std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.name == record.name; });
    return fail(Errc::kAlreadyExists,
                fmt::format("the container name \"{}\" is already in use by container \"{}\"; "
                            "remove (or rename) that container to be able to reuse that name",
                            record.name, owner->id));
  }
  fs::path dir = containerDir(record.id);
  if (::mkdir(dir.c_str(), 0700) != 0) return failErrno("mkdir " + dir.string());
  auto saved = save(record);
  if (!saved) {
    (void)removeAll(dir);
    return saved;
  }
  return {};
}

Result<ContainerRecord> Containers::load(std::string_view id) const {
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(recordPath(id), kMaxRecordSize));
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(text, "container.json"));
  return containerRecordFromJson(j);
}

Result<void> Containers::save(const ContainerRecord& record) const {
  // A --rm container's record goes with it when it exits: a crash loses nothing worth a flush.
  return replaceFile(recordPath(record.id), toJson(record).dump(2) + "\n", 0600,
                     !record.auto_remove);
}

Result<FileLock> Containers::lock(std::string_view id) const {
  return FileLock::acquire(containerDir(id) / "lock");
}

Result<ContainerRecord> Containers::update(
    std::string_view id, const std::function<void(ContainerRecord&)>& change) const {
  HULL_ASSIGN_OR_RETURN(FileLock held, lock(id));
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, load(id));
  change(r);
  HULL_TRY(save(r));
  return r;
}

Result<std::vector<ContainerRecord>> Containers::list() const {
  std::vector<ContainerRecord> out;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  if (ec) return fail(Errc::kIo, "list " + dir_.string() + ": " + ec.message());
  for (const auto& entry : it) {
    std::string id = entry.path().filename().string();
    if (id.size() != 64 || !entry.is_directory(ec)) continue;
    auto r = load(id);
    if (r) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created != b.created ? a.created > b.created : a.id < b.id;
  });
  return out;
}

Result<ContainerRecord> Containers::resolve(std::string_view ref) const {
  std::string_view name = ref.starts_with('/') ? ref.substr(1) : ref;
  if (name.empty()) return fail(Errc::kInvalidArgument, "empty container name");
  HULL_ASSIGN_OR_RETURN(auto all, list());
  const ContainerRecord* prefix_match = nullptr;
  int prefix_matches = 0;
  for (const auto& r : all) {
    if (r.id == name || r.name == name) return r;
    if (r.id.starts_with(name)) {
      prefix_match = &r;
      ++prefix_matches;
    }
  }
  if (prefix_matches == 1) return *prefix_match;
  if (prefix_matches > 1) {
    return fail(Errc::kInvalidArgument,
                fmt::format("multiple containers match the id prefix \"{}\"", name));
  }
  return fail(Errc::kNotFound, fmt::format("no such container: {}", name));
}

Result<void> Containers::removeDir(std::string_view id) const {
  return removeAll(containerDir(id));
}

bool reconcileStaleState(ContainerRecord& r) {
  if (r.status != ContainerStatus::kRunning) return false;
  if (r.monitor_pid > 0 && (::kill(r.monitor_pid, 0) == 0 || errno == EPERM)) return false;
  r.status = ContainerStatus::kExited;
  r.exit_code = 255;
  r.pid = 0;
  r.monitor_pid = 0;
  if (r.finished_at.empty()) r.finished_at = nowRfc3339Nano();
  return true;
}

}  // namespace hull::engine
