// Detached containers: `hull run -d` prepares the container, then spawns a supervisor
// (`hull-supervise _supervise ID`, or `hull _supervise ID` where that small program is not
// installed; double-forked and in its own session) that becomes the
// parent of the container's init. It owns the json-file log, runs the health checks, records
// the exit status and releases the container's resources; the CLI returns as soon as the
// supervisor reports that the container runs (or why it could not).
//
// The report travels over a pipe: "ok", or an error code number, a newline and the message.
// EOF without either means the supervisor died; the CLI then removes the container itself.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "engine/container_monitor.h"
#include "engine/container_run.h"
#include "engine/rootfs.h"
#include "runtime/runtime.h"

namespace hull::engine {
namespace {

constexpr int kSyncFd = 3;

// The supervisor's own process: a new session, stdio on /dev/null, the report pipe as fd 3.
[[noreturn]] void execSupervisor(const std::vector<std::string>& argv, int sync_write) {
  if (::setsid() < 0) ::_exit(125);
  pid_t pid = ::fork();
  if (pid != 0) ::_exit(pid < 0 ? 125 : 0);  // the middle process exits: init adopts us
  if (::chdir("/") != 0) ::_exit(125);       // pin no directory of the caller's
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0) {
    ::_exit(125);
  }
  if (sync_write == kSyncFd) {
    (void)::fcntl(kSyncFd, F_SETFD, 0);
  } else if (::dup2(sync_write, kSyncFd) < 0) {
    ::_exit(125);
  }
  // Nothing the caller's caller left open without O_CLOEXEC may live on in the supervisor.
  (void)::close_range(kSyncFd + 1, ~0U, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

Result<std::string> readReport(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd, buf, sizeof buf));
    if (n == 0) return text;
    text.append(buf, n);
  }
}

Error reportError(const std::string& report) {
  auto nl = report.find('\n');
  if (report.empty() || nl == std::string::npos) {
    return Error{Errc::kInternal, "the container's supervisor exited before starting it"};
  }
  int code = std::atoi(report.substr(0, nl).c_str());
  if (code < 0 || code > static_cast<int>(Errc::kInternal))
    code = static_cast<int>(Errc::kInternal);
  return Error{static_cast<Errc>(code), report.substr(nl + 1)};
}

struct Started {
  runtime::Created created;
  MonitorIo io;
};

// Creates the container with pipes (or a pty) for its output and the log to copy them into.
Result<Started> createSupervised(const Containers& containers, runtime::Runtime& rt,
                                 const ContainerRecord& record, const oci::RuntimeSpec& spec,
                                 std::string_view spec_json) {
  runtime::CreateOptions options;
  options.spec_json = spec_json;
  Started s;
  UniqueFd out_w, err_w;
  if (!record.tty) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return failErrno("pipe");
    s.io.out_pipe.reset(out[0]);
    out_w.reset(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) return failErrno("pipe");
    s.io.err_pipe.reset(err[0]);
    err_w.reset(err[1]);
    options.stdio.out = out_w.get();
    options.stdio.err = err_w.get();
  }
  HULL_ASSIGN_OR_RETURN(s.created,
                        rt.create(record.id, containers.containerDir(record.id), spec, options));
  s.io.pty_master = std::move(s.created.console_master);
  HULL_ASSIGN_OR_RETURN(s.io.log, LogWriter::open(containers.logPath(record.id)));
  return s;
}

Result<int> monitorSupervised(const Containers& containers, runtime::Runtime& rt,
                              std::string_view id, UniqueFd& sync) {
  HULL_ASSIGN_OR_RETURN(ContainerRecord record, containers.load(id));
  HULL_ASSIGN_OR_RETURN(std::string spec_text,
                        readFile(containers.containerDir(id) / "config.json"));
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, oci::parseRuntimeSpec(spec_text));
  HULL_ASSIGN_OR_RETURN(Started s, createSupervised(containers, rt, record, spec, spec_text));
  HULL_ASSIGN_OR_RETURN(record, containers.update(id, [&](ContainerRecord& r) {
    r.status = ContainerStatus::kRunning;
    r.pid = s.created.pid;
    r.monitor_pid = ::getpid();
    r.started_at = nowRfc3339Nano();
    if (r.healthcheck) r.health = HealthState{};
  }));
  HULL_ASSIGN_OR_RETURN(Monitor monitor, Monitor::create(containers, rt, record, *spec.process,
                                                         s.created.pid, std::move(s.io)));
  HULL_TRY(rt.start(record.id));
  (void)writeAll(sync.get(), "ok");
  sync.reset();
  HULL_ASSIGN_OR_RETURN(int status, monitor.run());
  int code = exitStatusOf(status);
  (void)rt.remove(record.id, true);
  auto rootfs = cleanupRootfs(containers.containerDir(id));
  HULL_ASSIGN_OR_RETURN(record, containers.update(id, [&](ContainerRecord& r) {
    r.status = ContainerStatus::kExited;
    r.exit_code = code;
    r.pid = 0;
    // A --rm container keeps its monitor until it is gone: prune leaves it to us.
    if (!r.auto_remove) r.monitor_pid = 0;
    r.finished_at = nowRfc3339Nano();
  }));
  if (record.auto_remove) HULL_TRY(destroyContainer(containers, record, true));
  HULL_TRY(rootfs);
  return code;
}

}  // namespace

Result<void> startDetached(const store::Store& store, const PreparedContainer& prepared,
                           const std::string& supervisor_exe) {
  Containers containers(store.root());
  ScopeExit undo([&] { (void)destroyContainer(containers, prepared.record, true); });
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::vector<std::string> argv = {supervisor_exe, "--root", store.root().string(), "_supervise",
                                   prepared.record.id};
  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork");
  if (pid == 0) execSupervisor(argv, write_end.get());
  write_end.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  HULL_ASSIGN_OR_RETURN(std::string report, readReport(read_end.get()));
  if (report == "ok") {
    undo.dismiss();
    return {};
  }
  return fail(reportError(report));
}

Result<int> superviseContainer(const store::Store& store, std::string_view id, int sync_fd) {
  UniqueFd sync(sync_fd);  // closed once "ok" is written; still open means not started
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 1);
  (void)::prctl(PR_SET_NAME, "hull-supervise");
  // No signal is ignored here: the container's processes would inherit SIG_IGN through exec.
  // The supervisor has its own session and no terminal, so no terminal signal reaches it.
  Containers containers(store.root());
  auto rt = runtime::Runtime::open(containers.runtimeRoot());
  Result<int> result =
      rt ? monitorSupervised(containers, *rt, id, sync) : Result<int>(fail(rt.error()));
  if (!result && sync) {
    // Not started: nothing of the container may stay. Report once everything is gone.
    if (auto r = containers.load(id)) (void)destroyContainer(containers, *r, true);
    std::string msg =
        fmt::format("{}\n{}", static_cast<int>(result.error().code), result.error().message);
    (void)writeAll(sync.get(), msg);
  }
  return result;
}

}  // namespace hull::engine
