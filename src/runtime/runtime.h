// The container lifecycle of the OCI runtime CLI (create, start, state, kill, delete, exec),
// driven by an oci::RuntimeSpec. Knows nothing of images, builds or GPUs (STYLE.md).
//
// State lives under `state_root/<id>/` (default /run/hull-runtime): state.json plus the fifo that
// holds a created container's init until `start`. hull's own `run` uses this library in process,
// so a foreground container is a direct child of the hull process that waits for it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"
#include "runtime/cgroup.h"

namespace hull::runtime {

// OCI state statuses.
enum class Status { kCreating, kCreated, kRunning, kStopped };
std::string_view statusName(Status s);

struct State {
  std::string oci_version = "1.0.2";
  std::string id;
  Status status = Status::kStopped;
  pid_t pid = 0;       // container init, in the host's pid namespace; 0 once stopped
  std::string bundle;  // absolute
  std::string rootfs;  // absolute
  std::map<std::string, std::string> annotations;
  std::string created;  // RFC 3339
  std::string owner;
};
Json toJson(const State& s);  // the OCI `state` output

// Where the container's stdio goes. Fds are borrowed: the runtime dups what it keeps.
struct Stdio {
  int in = -1;  // -1: /dev/null
  int out = -1;
  int err = -1;
  // With process.terminal: the pty master is sent over this AF_UNIX socket (SCM_RIGHTS) as runc
  // does for --console-socket; when -1 and terminal is set, `console_master` below receives it.
  int console_socket = -1;
  // Extra fds passed through as 3, 4, ... (--preserve-fds); every other fd is closed at exec.
  std::vector<int> preserve;
};

struct CreateOptions {
  Stdio stdio;
  std::string pid_file;  // written with init's pid once created
  bool no_pivot = false;
  bool no_new_keyring = false;
  // The spec as the caller wrote it to the bundle's config.json, kept as the runtime's copy
  // instead of serializing the spec again; empty: serialize.
  std::string_view spec_json;
};

struct Created {
  pid_t pid = 0;
  UniqueFd console_master;  // set when process.terminal and no console socket was given
};

struct ExecOptions {
  Stdio stdio;
  std::string pid_file;
  bool detach = false;  // runtime CLI only: return after the process started
};

class Runtime {
 public:
  // Opens (creating if needed) the state directory.
  static Result<Runtime> open(std::filesystem::path state_root);

  // Makes namespaces, cgroup, rootfs and mounts, and leaves init waiting before exec of
  // process.args until start(). The spec is read from bundle/config.json.
  Result<Created> create(const std::string& id, const std::filesystem::path& bundle,
                         const CreateOptions& options);
  // Same, with a spec the caller already holds (hull run writes config.json too, for inspect).
  Result<Created> create(const std::string& id, const std::filesystem::path& bundle,
                         const oci::RuntimeSpec& spec, const CreateOptions& options);
  Result<void> start(const std::string& id);
  Result<State> state(const std::string& id);
  Result<std::vector<State>> list();
  Result<void> kill(const std::string& id, int signal, bool all = false);
  // Removes state, cgroup and anything else the runtime made; refuses a running container
  // unless force (then SIGKILL and wait).
  Result<void> remove(const std::string& id, bool force);
  // Starts one more process inside a running container: joins its namespaces and cgroup, applies
  // the process's user, capabilities, no_new_privs, seccomp of the container, cwd and env.
  Result<Created> exec(const std::string& id, const oci::Process& process,
                       const ExecOptions& options);

  // The spec a container was created with (exec builds its default process from it).
  Result<oci::RuntimeSpec> spec(const std::string& id);
  // Every process in the container's cgroup, host pids.
  Result<std::vector<pid_t>> pids(const std::string& id);

  const std::filesystem::path& root() const { return root_; }

 private:
  explicit Runtime(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

// The exit status a shell gives for an exec failure of the container's process (127: not found,
// 126: not executable), or nullopt for other errors.
std::optional<int> execFailureStatus(const Error& error);

// What `features` prints (runtime-spec features.md).
Json features();

// A default spec like `runc spec`: busybox-friendly, sh as args, Docker's default caps.
oci::RuntimeSpec defaultSpec(bool rootless = false);

}  // namespace hull::runtime
