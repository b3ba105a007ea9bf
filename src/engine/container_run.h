// `hull run` and the container lifecycle around it: prepare (image → plan → rootfs, volumes,
// config.json, record), start in the foreground (hull is init's parent) or detached (a
// supervisor process is), and the commands that act on a container later (stop, kill, rm, wait,
// exec). The CLI only parses flags and prints.
//
// Nothing is left behind on a failure: every step from the container directory on is undone by
// destroyContainer when a later one fails.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "engine/containers.h"
#include "engine/images.h"
#include "engine/run_options.h"
#include "oci/runtime_spec.h"
#include "runtime/cgroup.h"
#include "store/store.h"

namespace hull::engine {

// Finds the image to run. The default looks in the local store only and fails with
// "image not found: NAME"; pulling a missing image plugs in here.
using ImageSource =
    std::function<Result<ImageView>(const store::Store& store, std::string_view ref)>;
Result<ImageView> localImage(const store::Store& store, std::string_view ref);

struct PreparedContainer {
  ContainerRecord record;
  oci::RuntimeSpec spec;
  std::string spec_json;  // spec as written to config.json
};

// Makes a container ready to start: record (name reserved), rootfs mounted, volumes made, etc
// files, config.json. On failure nothing of it remains.
Result<PreparedContainer> prepareContainer(const store::Store& store, const RunOptions& options,
                                           const ImageSource& images = localImage);

// Undoes everything a container has: runtime state and cgroup, rootfs mount, its directory, and
// with remove_volumes its anonymous volumes. Missing pieces are fine (idempotent).
Result<void> destroyContainer(const Containers& containers, const ContainerRecord& record,
                              bool remove_volumes);

// Runs a prepared container in the foreground: hull is the parent of its init, forwards signals,
// relays its output (and writes the log unless --rm), runs health checks, and cleans up at the
// end. Returns the exit status Docker's way (128+n when killed by signal n).
Result<int> runForeground(const store::Store& store, PreparedContainer prepared, bool interactive);

// Starts a detached container: spawns the supervisor (`supervisor_exe --root ROOT _supervise
// ID`: hull-supervise or hull), waits until it has started the container or failed (then
// everything is removed), and returns.
Result<void> startDetached(const store::Store& store, const PreparedContainer& prepared,
                           const std::string& supervisor_exe);

// The supervisor's body: creates and starts the container, reports "ok" or the error on
// sync_fd, then monitors it until it exits. Returns the container's exit status.
Result<int> superviseContainer(const store::Store& store, std::string_view id, int sync_fd);

// Both ends of a pipe(2), close-on-exec.
struct FdPipe {
  UniqueFd read, write;
};
Result<FdPipe> makePipe();

// Closes every fd above stderr: what a careless parent left open (without O_CLOEXEC) must never
// reach a container, not even by a working dir such as /proc/self/fd/N (CVE-2024-21626). Called
// first thing by run and exec, before hull opens anything of its own.
void closeInheritedFds();
// Puts every signal back to its default action and unblocks all: a container starts as if its
// parent were a fresh process, not with what the shell that ran hull ignored (Docker's
// containers never inherit the CLI's signal state either).
void resetSignals();

// Exit status the Docker way from a wait status.
int exitStatusOf(int wait_status);

// The exit status of a `run` or `exec` that failed before the process ran, as Docker reports
// it: 127 when the runtime could not find the command, 126 when it could not execute it, else
// 125 (an error of hull itself).
int startErrorStatus(const Error& error);

// --- acting on existing containers ---

// Sends the stop signal, waits up to timeout seconds (the record's stop timeout when nullopt),
// then SIGKILL; returns once the container has exited. A container that is not running is fine.
Result<void> stopContainer(const store::Store& store, std::string_view ref,
                           std::optional<int> timeout);
// Sends a signal ("SIGKILL", "KILL", "9") to a running container; kInvalidArgument otherwise.
Result<void> killContainer(const store::Store& store, std::string_view ref,
                           std::string_view signal);
// Removes a container; a running one only with force (killed first).
Result<void> removeContainer(const store::Store& store, std::string_view ref, bool force,
                             bool remove_volumes);
// Waits until the container has exited and returns its exit code.
Result<int> waitContainer(const store::Store& store, std::string_view ref);

struct ExecRequest {
  std::vector<std::string> command;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
};
// Runs a process in a running container; returns its exit status (0 when detached).
Result<int> execInContainer(const store::Store& store, std::string_view ref,
                            const ExecRequest& request);

// The record with a stale "running" state fixed (see reconcileStaleState).
Result<ContainerRecord> loadContainer(const Containers& containers, std::string_view ref);

}  // namespace hull::engine
