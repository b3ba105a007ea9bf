// Container records in the store: `<root>/containers/<64-hex id>/` holds container.json (the
// record below), config.json (the bundle's OCI spec), rootfs/ (the overlay mount point), upper/
// and work/, hostname, hosts, resolv.conf and the json-file log `<id>-json.log`.
//
// Invariants:
//  - container.json is only replaced atomically (replaceFile); a reader sees the old or the new
//    record, never a torn one. It is durable unless the container is removed on exit (--rm).
//  - Read-modify-write of a record happens under the container's lock (flock on `<dir>/lock`),
//    so the supervisor's exit report and a concurrent health result never lose each other.
//  - Names are unique: a new container takes `containers/names.lock` while it checks the names
//    in use and makes its directory, so two `hull run --name x` never both succeed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "base/json.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/image.h"

namespace hull::engine {

enum class ContainerStatus { kCreated, kRunning, kExited };
std::string_view containerStatusName(ContainerStatus s);

// One health check run, as Docker's State.Health.Log keeps it.
struct HealthResult {
  std::string start;  // RFC 3339 with nanoseconds
  std::string end;
  int exit_code = 0;
  std::string output;  // capped at kHealthOutputLimit bytes
  friend bool operator==(const HealthResult&, const HealthResult&) = default;
};

struct HealthState {
  std::string status = "starting";  // starting, healthy, unhealthy
  int failing_streak = 0;
  std::vector<HealthResult> log;  // the last kHealthLogEntries results, oldest first
  friend bool operator==(const HealthState&, const HealthState&) = default;
};

// A bind or volume mount as `inspect` shows it (Docker's Mounts[]).
struct MountSummary {
  std::string type;  // bind, volume, tmpfs
  std::string name;  // volume name
  std::string source;
  std::string destination;
  bool rw = true;
  friend bool operator==(const MountSummary&, const MountSummary&) = default;
};

struct ContainerRecord {
  std::string id;  // 64 hex
  std::string name;
  std::string created;  // RFC 3339 with nanoseconds
  // The image as the user named it, its ID (config digest) and the resolved name.
  std::string image;
  std::string image_id;
  // Docker's Config: what the container was started with.
  std::vector<std::string> args;  // process.args (Path + Args)
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env;
  std::string working_dir;
  std::string user;
  std::string hostname;
  bool tty = false;
  bool open_stdin = false;
  std::map<std::string, std::string> labels;
  std::optional<oci::HealthConfig> healthcheck;  // resolved; nullopt when none
  std::string stop_signal = "SIGTERM";
  int stop_timeout = 10;
  // Docker's HostConfig, kept as given for inspect (memory, cpus, binds, network mode, ...).
  Json host_config = Json::object();
  bool auto_remove = false;
  std::vector<std::string> anonymous_volumes;
  std::vector<MountSummary> mounts;

  // State.
  ContainerStatus status = ContainerStatus::kCreated;
  pid_t pid = 0;          // container init while running
  pid_t monitor_pid = 0;  // the hull process that waits for init (foreground run or supervisor)
  int exit_code = 0;
  std::string started_at;   // "" until started
  std::string finished_at;  // "" until exited
  std::string error;        // why it failed to start
  std::optional<HealthState> health;

  friend bool operator==(const ContainerRecord&, const ContainerRecord&) = default;
};

inline constexpr int kHealthLogEntries = 5;
inline constexpr std::size_t kHealthOutputLimit = 4096;

Json toJson(const ContainerRecord& r);
Result<ContainerRecord> containerRecordFromJson(const Json& j);

// Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading "/" is accepted and dropped).
Result<std::string> validateContainerName(std::string_view name);
// A random "adjective_surname" name like Docker's; `attempt` > 0 appends a digit as Docker does
// after a clash.
std::string generateContainerName(std::mt19937_64& rng, int attempt = 0);
// 64 lowercase hex from the kernel's random source.
Result<std::string> newContainerId();

// Unix time with nanoseconds → "2024-05-01T10:00:00.123456789Z".
std::string rfc3339Nano(int64_t seconds, int64_t nanoseconds);
std::string nowRfc3339Nano();

// Replaces `target` atomically (a reader sees the old or the new content). Durable also fsyncs
// the file and its directory; a file that dies with its container (--rm) skips those flushes.
Result<void> replaceFile(const fs::path& target, std::string_view data, mode_t mode, bool durable);

// A held flock; released when destroyed.
class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<FileLock> acquire(const fs::path& path);

 private:
  UniqueFd fd_;
};

// The containers directory of one store root.
class Containers {
 public:
  explicit Containers(fs::path store_root);

  const fs::path& dir() const { return dir_; }
  fs::path containerDir(std::string_view id) const { return dir_ / std::string(id); }
  fs::path recordPath(std::string_view id) const { return containerDir(id) / "container.json"; }
  fs::path logPath(std::string_view id) const {
    return containerDir(id) / (std::string(id) + "-json.log");
  }
  // The OCI runtime's state root: `<root>/runtime`.
  fs::path runtimeRoot() const { return runtime_root_; }

  // Makes the directory of a new container and writes its first record, after checking the name
  // (a free random one when record.name is empty) under the names lock. kAlreadyExists when the
  // name is taken.
  Result<void> create(ContainerRecord& record) const;

  Result<ContainerRecord> load(std::string_view id) const;
  Result<void> save(const ContainerRecord& record) const;
  // Loads, applies `change` and saves under the container's lock.
  Result<ContainerRecord> update(std::string_view id,
                                 const std::function<void(ContainerRecord&)>& change) const;
  Result<FileLock> lock(std::string_view id) const;

  // Every record, newest first; directories without a readable record are skipped.
  Result<std::vector<ContainerRecord>> list() const;
  // A full id, a unique id prefix or a name. kNotFound: "no such container: REF".
  Result<ContainerRecord> resolve(std::string_view ref) const;
  // Removes the directory (the caller has unmounted and stopped everything).
  Result<void> removeDir(std::string_view id) const;

 private:
  fs::path dir_;
  fs::path runtime_root_;
};

// A record says "running" but the process that waits for the container is gone (a crash or a
// reboot): Docker shows such containers as exited, and so does hull. True when it changed r.
bool reconcileStaleState(ContainerRecord& r);

}  // namespace hull::engine
