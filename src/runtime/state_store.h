// What the runtime remembers about a container between commands: state.json in the container's
// state directory. Init's start time (from /proc/PID/stat) is kept with its pid so a reused pid
// is never mistaken for the container.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "base/result.h"
#include "runtime/runtime.h"

namespace hull::runtime {

struct StoredState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // field 22 of /proc/PID/stat
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string cgroup_path;
  std::string owner;
  std::map<std::string, std::string> annotations;
  // Whether config.json has poststart or poststop hooks, so that start and delete parse it only
  // then; unset in the state of a container made by an older hull (parse to know).
  std::optional<bool> late_hooks;
};

Json toJson(const StoredState& s);
Result<StoredState> storedStateFromJson(const Json& j);

// A process's start time in clock ticks since boot; nullopt when it is gone. `zombie` tells
// whether it has exited but was not reaped.
struct ProcessStat {
  uint64_t start_time = 0;
  char state = '?';
};
std::optional<ProcessStat> readProcessStat(pid_t pid);
// Parses the text of /proc/PID/stat (the command may hold spaces and parentheses).
std::optional<ProcessStat> parseProcessStat(std::string_view text);

// Whether init still runs: same pid, same start time, not a zombie.
bool initAlive(const StoredState& s);

// runc's rule for ids: letters, digits, "_", "+", "-", "." and not "." or "..".
Result<void> validateId(std::string_view id);

// Now as RFC 3339 with nanoseconds, UTC.
std::string nowRfc3339();

}  // namespace hull::runtime
