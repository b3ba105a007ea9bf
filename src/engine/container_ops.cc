// Acting on existing containers: stop, kill, rm, wait, exec (container_run.h). The process that
// monitors a container (foreground `hull run` or the supervisor) records its exit and releases
// its resources; these commands signal it and watch the record.
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include "engine/container_monitor.h"
#include "engine/container_run.h"
#include "engine/container_terminal.h"
#include "engine/rootfs_view.h"
#include "engine/run_options.h"
#include "engine/user.h"
#include "runtime/runtime.h"

namespace hull::engine {
namespace {

constexpr useconds_t kPollInterval = 50 * 1000;

int64_t monotonicMs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Polls the record until the container is no longer running (its monitor recorded the exit, or
// the monitor is gone, or --rm removed it). Returns the last record seen, nullopt when removed.
// With a deadline, kBusy when it passes first.
Result<std::optional<ContainerRecord>> waitExited(const Containers& containers,
                                                  const std::string& id,
                                                  std::optional<int64_t> deadline_ms) {
  for (;;) {
    auto r = containers.load(id);
    if (!r) {
      if (!fs::exists(containers.containerDir(id))) return std::optional<ContainerRecord>();
      return fail(r.error());
    }
    if (reconcileStaleState(*r)) (void)containers.save(*r);
    if (r->status != ContainerStatus::kRunning) return std::optional(*r);
    if (deadline_ms && monotonicMs() >= *deadline_ms) {
      return fail(Errc::kBusy, "container " + id + " is still running");
    }
    ::usleep(kPollInterval);
  }
}

Result<void> signalContainer(const Containers& containers, const ContainerRecord& r, int sig) {
  auto rt = runtime::Runtime::open(containers.runtimeRoot());
  if (rt) {
    auto sent = rt->kill(r.id, sig);
    if (sent) return {};
  }
  // The runtime's state may be gone while init still runs (a crash half way); init's pid in the
  // record is the fallback.
  if (r.pid > 0 && ::kill(r.pid, sig) == 0) return {};
  return failErrno(fmt::format("kill container {}", r.name));
}

std::string notRunning(const ContainerRecord& r) {
  return fmt::format("container {} is not running", r.name);
}

// The process `hull exec` starts: the container's own, with the request's changes.
Result<oci::Process> execProcess(const Containers& containers, const ContainerRecord& r,
                                 const ExecRequest& req) {
  fs::path dir = containers.containerDir(r.id);
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(dir / "config.json"));
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, oci::parseRuntimeSpec(text));
  if (!spec.process) return fail(Errc::kCorrupt, "config.json of " + r.name + " has no process");
  oci::Process p = *spec.process;
  p.args = req.command;
  p.terminal = req.tty;
  p.console_size = req.tty ? terminalSize() : std::nullopt;
  for (const auto& e : req.env) {
    if (e.find('=') != std::string::npos) {
      p.env.push_back(e);
    } else if (const char* v = std::getenv(e.c_str())) {
      p.env.push_back(e + "=" + v);
    }
  }
  if (!req.workdir.empty()) {
    if (!req.workdir.starts_with('/')) {
      return fail(Errc::kInvalidArgument, "the working directory '" + req.workdir +
                                              "' is invalid, it needs to be an absolute path");
    }
    p.cwd = req.workdir;
  }
  if (!req.user.empty()) {
    HULL_ASSIGN_OR_RETURN(DirRootfsView view, DirRootfsView::open(dir / "rootfs"));
    HULL_ASSIGN_OR_RETURN(auto passwd, view.readFile("/etc/passwd", 4u << 20));
    HULL_ASSIGN_OR_RETURN(auto group, view.readFile("/etc/group", 4u << 20));
    HULL_ASSIGN_OR_RETURN(ResolvedUser user, resolveUser(req.user, passwd, group));
    p.user.uid = user.uid;
    p.user.gid = user.gid;
    p.user.additional_gids = user.additional_gids;
  }
  return p;
}

}  // namespace

Result<ContainerRecord> loadContainer(const Containers& containers, std::string_view ref) {
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, containers.resolve(ref));
  if (reconcileStaleState(r)) {
    return containers.update(r.id, [](ContainerRecord& rec) { reconcileStaleState(rec); });
  }
  return r;
}

Result<void> stopContainer(const store::Store& store, std::string_view ref,
                           std::optional<int> timeout) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, loadContainer(containers, ref));
  if (r.status != ContainerStatus::kRunning) return {};
  HULL_ASSIGN_OR_RETURN(SignalSpec sig, parseSignal(r.stop_signal));
  int seconds = timeout.value_or(r.stop_timeout);
  if (seconds != 0) {
    HULL_TRY(signalContainer(containers, r, sig.number));
    auto exited =
        waitExited(containers, r.id,
                   seconds < 0 ? std::nullopt : std::optional(monotonicMs() + seconds * 1000));
    if (exited) return {};
    if (exited.error().code != Errc::kBusy) return fail(exited.error());
  }
  (void)signalContainer(containers, r, SIGKILL);
  HULL_TRY(waitExited(containers, r.id, std::nullopt));
  return {};
}

Result<void> killContainer(const store::Store& store, std::string_view ref,
                           std::string_view signal) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(SignalSpec sig, parseSignal(signal));
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, loadContainer(containers, ref));
  if (r.status != ContainerStatus::kRunning) return fail(Errc::kInvalidArgument, notRunning(r));
  return signalContainer(containers, r, sig.number);
}

Result<void> removeContainer(const store::Store& store, std::string_view ref, bool force,
                             bool remove_volumes) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, loadContainer(containers, ref));
  if (r.status == ContainerStatus::kRunning) {
    if (!force) {
      return fail(Errc::kBusy,
                  fmt::format("cannot remove container \"{}\": container is running: stop the "
                              "container before removing or force remove (rm -f)",
                              r.name));
    }
    (void)signalContainer(containers, r, SIGKILL);
    HULL_ASSIGN_OR_RETURN(auto last, waitExited(containers, r.id, std::nullopt));
    if (!last) return {};  // it was started with --rm: its monitor removed it
    r = *last;
  }
  return destroyContainer(containers, r, remove_volumes);
}

Result<int> waitContainer(const store::Store& store, std::string_view ref) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, loadContainer(containers, ref));
  HULL_ASSIGN_OR_RETURN(auto last, waitExited(containers, r.id, std::nullopt));
  // A --rm container is gone with its record; Docker's wait reports 0 for it too.
  return last ? last->exit_code : 0;
}

Result<int> execInContainer(const store::Store& store, std::string_view ref,
                            const ExecRequest& req) {
  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(ContainerRecord r, loadContainer(containers, ref));
  if (r.status != ContainerStatus::kRunning) return fail(Errc::kInvalidArgument, notRunning(r));
  if (req.command.empty()) return fail(Errc::kInvalidArgument, "exec: no command given");
  HULL_ASSIGN_OR_RETURN(oci::Process process, execProcess(containers, r, req));
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 1);
  HULL_ASSIGN_OR_RETURN(runtime::Runtime rt, runtime::Runtime::open(containers.runtimeRoot()));
  runtime::ExecOptions options;
  if (!req.detach) {
    options.stdio.in = req.interactive && !req.tty ? STDIN_FILENO : -1;
    options.stdio.out = req.tty ? -1 : STDOUT_FILENO;
    options.stdio.err = req.tty ? -1 : STDERR_FILENO;
  }
  HULL_ASSIGN_OR_RETURN(runtime::Created created, rt.exec(r.id, process, options));
  if (req.detach) return 0;
  MonitorIo io;
  io.pty_master = std::move(created.console_master);
  io.copy_out = STDOUT_FILENO;
  io.stdin_src = req.tty && req.interactive ? STDIN_FILENO : -1;
  io.forward_signals = true;
  io.resize_pty = req.tty;
  ContainerRecord exec_record = r;
  exec_record.healthcheck.reset();  // the container's monitor runs its checks, not this one
  HULL_ASSIGN_OR_RETURN(Monitor monitor, Monitor::create(containers, rt, exec_record, process,
                                                         created.pid, std::move(io)));
  std::optional<RawTerminal> raw;
  if (req.tty && req.interactive) raw.emplace(STDIN_FILENO);
  HULL_ASSIGN_OR_RETURN(int status, monitor.run());
  return exitStatusOf(status);
}

}  // namespace hull::engine
