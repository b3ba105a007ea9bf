// The loop that watches a started container: one poll over a signalfd, the container's output
// (pipes or the pty master), the user's stdin (with -i -t) and a running health probe. It is the
// same loop in the foreground `hull run` and in the detached supervisor, so both log and check
// health the same way. Single-threaded on purpose: one owner for every fd and child.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "engine/container_log.h"
#include "engine/containers.h"
#include "oci/runtime_spec.h"
#include "runtime/runtime.h"

namespace hull::engine {

struct MonitorIo {
  // The container's output as the monitor receives it (invalid when the container writes to
  // the caller's fds directly, as `run --rm` without -t does).
  UniqueFd out_pipe;
  UniqueFd err_pipe;
  UniqueFd pty_master;
  int copy_out = -1;             // where output is copied (the user's stdout), -1 for nowhere
  int copy_err = -1;             // where stderr is copied
  int stdin_src = -1;            // copied into the pty master (-i -t); -1 for none
  bool forward_signals = false;  // SIGINT, SIGTERM, ... go to the container (foreground run)
  bool resize_pty = false;       // SIGWINCH copies the user's window size to the pty
  std::optional<LogWriter> log;
};

class Monitor {
 public:
  // Blocks the signals the loop reads through a signalfd; do this before the container starts
  // so that no SIGCHLD or forwarded signal is missed.
  static Result<Monitor> create(const Containers& containers, runtime::Runtime& runtime,
                                const ContainerRecord& record, const oci::Process& process,
                                pid_t init_pid, MonitorIo io);
  Monitor(Monitor&&) noexcept;
  ~Monitor();

  // Runs until init exits and its output is drained; returns init's wait status.
  Result<int> run();

 private:
  struct State;
  explicit Monitor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The signals a foreground run forwards to the container.
inline constexpr int kForwardedSignals[] = {1, 2, 3, 10, 12, 15};  // HUP INT QUIT USR1 USR2 TERM

}  // namespace hull::engine
