// The last steps that turn a forked setup process into the container's process, shared by
// create (init) and exec: stdio and preserved fds in place, the terminal, rlimits, cwd, the
// executable looked up inside the container, then seccomp, user, capabilities and execve.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_spec.h"
#include "runtime/capabilities.h"
#include "runtime/seccomp.h"

namespace hull::runtime {

// The setup process's fds. Stdio fds must be valid (the parent opens /dev/null for "none").
struct ProcessFds {
  int sync = -1;
  int fifo = -1;
  int console_socket = -1;
  int in = -1, out = -1, err = -1;
  std::vector<int> preserve;  // become 3, 4, ...
};

// Moves every fd the setup still needs above the preserved range, then puts the preserved fds
// at 3.. and (without a terminal) stdio at 0..2.
Result<void> arrangeFds(ProcessFds& fds, bool terminal);
// Opens a pty in the container's devpts, makes its slave the controlling terminal and stdio, and
// sends the master over the console socket (runc's protocol) or else the sync channel.
Result<void> setupTerminal(const oci::Process& process, const ProcessFds& fds, bool bind_console);

// "RLIMIT_NOFILE" → RLIMIT_NOFILE.
Result<int> rlimitResource(const std::string& name);
// Never raises above the current hard limit without privilege: the kernel's EPERM is reported
// with the limit's name, as runc does.
Result<void> applyRlimits(const std::vector<oci::Rlimit>& limits);
Result<void> applyOomScoreAdj(std::optional<int> adj);
Result<void> enterCwd(const std::string& cwd);
// PATH lookup inside the container, with PATH from process.env. Errors read like runc's:
// `exec: "x": executable file not found in $PATH` (kNotFound) or permission denied
// (kPermission).
Result<std::string> findExecutable(const oci::Process& process);

// process.env with HOME added when it is missing, from the container's /etc/passwd entry of
// process.user.uid ("/" when there is none), as runc does. Runs inside the container.
std::vector<std::string> environmentWithHome(const oci::Process& process);

struct FinalStep {
  const oci::Process* process = nullptr;
  std::optional<CapabilityPlan> capabilities;
  const SeccompFilter* seccomp = nullptr;
  std::string executable;
  std::vector<std::string> env;  // the environment execve passes
  int keep_fds = 3;              // fds below this survive execve
};
// Applies seccomp, user, capabilities, no_new_privs and umask, then execs. On failure, writes
// the error to `report` (a channel) or stderr and exits 127 (not found), 126 or 1.
[[noreturn]] void execFinal(const FinalStep& step, int report);

}  // namespace hull::runtime
