// The flags of `hull run`, exactly as the user typed them (Docker's names and forms). Nothing is
// interpreted here: planContainer (run_spec.h) turns them into a plan, so one set of options can
// be stored with a container and planned again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"
// parseGoDuration, for the --health-* durations, is shared with `import --change HEALTHCHECK`.
#include "engine/change.h"

namespace hull::engine {

struct RunOptions {
  std::string image;                       // IMAGE as given: name, id or digest
  std::vector<std::string> command;        // everything after IMAGE
  std::optional<std::string> entrypoint;   // --entrypoint; "" clears the image's entrypoint
  std::string name;                        // --name
  bool rm = false;                         // --rm
  bool detach = false;                     // -d
  bool interactive = false;                // -i
  bool tty = false;                        // -t
  std::vector<std::string> env;            // -e K=V, or -e K (takes the host's value, if set)
  std::vector<std::string> env_files;      // --env-file PATH
  std::string workdir;                     // -w (must be absolute)
  std::string user;                        // -u name|uid[:group|gid]
  std::vector<std::string> volumes;        // -v SRC:DST[:ro|rw], or -v DST (anonymous volume)
  std::vector<std::string> mounts;         // --mount type=...,source=...,target=...
  std::vector<std::string> tmpfs;          // --tmpfs DST[:opts]
  bool read_only = false;                  // --read-only
  std::string shm_size;                    // --shm-size ("64m")
  std::string memory;                      // --memory / -m ("512m")
  std::string cpus;                        // --cpus ("1.5")
  std::optional<int64_t> pids_limit;       // --pids-limit (<= 0: unlimited)
  std::vector<std::string> ulimits;        // --ulimit nofile=1024[:2048]
  std::string network = "host";            // --network: "host" (default) or "none"
  std::string hostname;                    // --hostname / -h
  bool init = false;                       // --init
  std::vector<std::string> cap_add;        // --cap-add
  std::vector<std::string> cap_drop;       // --cap-drop
  std::vector<std::string> security_opts;  // --security-opt
  std::optional<std::string> health_cmd;   // --health-cmd (a shell command line)
  std::string health_interval;             // Go durations: "30s", "1m30s", "500ms"
  std::string health_timeout;
  std::string health_start_period;
  std::string health_start_interval;
  std::optional<int> health_retries;
  bool no_healthcheck = false;           // --no-healthcheck
  std::string stop_signal;               // --stop-signal ("SIGINT", "INT", "2")
  std::optional<int> stop_timeout;       // --stop-timeout seconds
  std::vector<std::string> labels;       // --label K=V (or K: empty value)
  std::vector<std::string> label_files;  // --label-file
  std::string gpus;                      // --gpus (Docker's syntax: all, 2, device=0,2, ...)
  std::vector<std::string> devices;      // --device: a host path, or a CDI name vendor/class=x
};

// A stable JSON form (keys as the field names above), for container records and golden tests.
// Unknown keys are refused when decoding: a typo in a test case must not pass silently.
Json toJson(const RunOptions& options);
Result<RunOptions> runOptionsFromJson(const Json& j);

// Docker's signal names: "SIGTERM", "TERM", "15", "SIGRTMIN+3". Returns the number and the
// canonical "SIGNAME" form.
struct SignalSpec {
  int number = 15;
  std::string name = "SIGTERM";
};
Result<SignalSpec> parseSignal(std::string_view text);

}  // namespace hull::engine
