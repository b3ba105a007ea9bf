// `hull run` planning: image config + flags -> everything decided before the system is touched
// (STYLE.md rule 1). The plan holds the final OCI runtime spec, Docker's way (docs/run-spec.md
// maps every flag), plus what the container lifecycle needs beside it: health check, stop
// signal and timeout, labels, the volumes to create, the user.
//
// Steps for a caller (hull run):
//   1. planContainer(image, options, view, id, host)  -- pure; every bad flag is an error here
//   2. bindPlanPaths(plan, container_dir, volumes_root) -- fills root.path and mount sources
//   3. create the volumes in plan.volumes (VolumeStore::ensure) and plan.create_bind_sources
//   4. prepareRootfs (rootfs.h), then prepareMountTargets (workdir and volume targets)
//   5. writeEtcFiles(plan, container_dir, host)
//   6. runtime create/start with plan.spec
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "engine/rootfs_view.h"
#include "engine/run_options.h"
#include "engine/user.h"
#include "oci/defaults.h"
#include "oci/image.h"
#include "oci/runtime_spec.h"

namespace hull::engine {

// A device node on the host, for --device.
struct HostDevice {
  std::string path;  // on the host
  std::string type;  // "c" or "b"
  int64_t major = 0, minor = 0;
  uint32_t mode = 0;  // permission bits
  uint32_t uid = 0, gid = 0;
};

// What planning may learn from the host. Tests pass a fixed one; real() reads the machine.
struct HostEnvironment {
  std::function<std::optional<std::string>(const std::string&)> getenv;  // -e K, env-file K
  std::function<Result<std::string>(const std::string&)> read_file;      // env files, seccomp
  std::function<bool(const std::string&)> path_exists;                   // bind sources
  // The hard limit of an RLIMIT_* resource for this process (RLIM_INFINITY when unlimited):
  // a --ulimit above it cannot be granted without CAP_SYS_RESOURCE.
  std::function<uint64_t(int resource)> hard_rlimit;
  // The host's resolv.conf (copied for host networking).
  std::function<std::optional<std::string>()> resolv_conf;
  // --device PATH: the node PATH names (symlinks followed), or every node under the directory
  // PATH; an error for anything else. Unset: --device with a host path is refused.
  std::function<Result<std::vector<HostDevice>>(const std::string&)> devices;
  // The host binary bind-mounted for --init (tini's static build from Debian).
  std::string init_binary = "/usr/bin/tini-static";
  // The running kernel: seccomp rules with a minimum kernel version depend on it.
  oci::KernelVersion kernel{.major = 5, .minor = 6};

  static HostEnvironment real();
};

// Where --init's binary appears inside the container.
inline constexpr std::string_view kInitPath = "/sbin/hull-init";
inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct PlannedVolume {
  std::string name;         // volume name: given, or 64 hex for an anonymous one
  std::string destination;  // inside the container
  bool anonymous = false;   // from the image's VOLUME or `-v /dst` (removed with --rm / rm -v)
  bool read_only = false;
  bool no_copy = false;         // --mount volume-nocopy: do not copy image content into it
  std::size_t mount_index = 0;  // its entry in spec.mounts (source filled by bindPlanPaths)
  friend bool operator==(const PlannedVolume&, const PlannedVolume&) = default;
};

struct ContainerPlan {
  oci::RuntimeSpec spec;
  // nullopt: no health check (none in the image, --no-healthcheck, or test ["NONE"]).
  // Otherwise test is ["CMD", ...] or ["CMD-SHELL", cmd] and every duration is filled with
  // Docker's defaults (interval 30s, timeout 30s, start period 0, start interval 5s, retries 3).
  std::optional<oci::HealthConfig> healthcheck;
  SignalSpec stop_signal;  // --stop-signal, else the image's StopSignal, else SIGTERM
  int stop_timeout = 10;   // seconds
  std::map<std::string, std::string> labels;     // image labels overlaid with --label
  std::vector<PlannedVolume> volumes;            // named and anonymous, in mount order
  std::vector<std::string> create_bind_sources;  // -v host dirs that do not exist yet (Docker
                                                 // creates them)
  ResolvedUser user;
  std::string hostname;
};

// Plans a container. Reads nothing but what `rootfs` and `host` give (passwd/group, env files,
// a seccomp profile, rlimits). container_id is the 64-hex id (hostname default: its first 12).
// Every error is one line naming the flag and the bad value (kInvalidArgument), or the unknown
// user (kInvalidArgument), or an unreadable file (kNotFound / kIo).
Result<ContainerPlan> planContainer(const oci::ImageConfig& image, const RunOptions& options,
                                    const RootfsView& rootfs, const std::string& container_id,
                                    const HostEnvironment& host = HostEnvironment::real());

// Fills the paths planning leaves open: spec.root.path = container_dir/rootfs; the sources of
// /etc/hostname, /etc/hosts and /etc/resolv.conf = files in container_dir; each volume's source
// = volumes_root/<name>/_data.
void bindPlanPaths(ContainerPlan& plan, const fs::path& container_dir,
                   const fs::path& volumes_root);

// Writes container_dir/{hostname,hosts,resolv.conf}: hosts maps 127.0.0.1 to localhost and the
// hostname (plus the IPv6 loopback names); resolv.conf is the host's with host networking, and
// for --network none the host's without loopback nameservers (they would point at nothing).
Result<void> writeEtcFiles(const ContainerPlan& plan, const fs::path& container_dir,
                           const HostEnvironment& host = HostEnvironment::real());

// Docker's --env-file format: one K=V per line, "#" comments and blank lines skipped, a bare K
// takes the host's value (dropped when unset). Errors name "file:line".
Result<std::vector<std::string>> parseEnvFile(std::string_view text, std::string_view file,
                                              const HostEnvironment& host);

}  // namespace hull::engine
