// The runtime module's lifecycle verbs other than create and exec; see runtime.h.
#include "runtime/runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/fs.h"
#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"

namespace hull::runtime {
namespace {

// A pidfd for init, or an invalid fd when init is gone (or its pid was reused).
UniqueFd openInit(const StoredState& s) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!fd || !initAlive(s)) return UniqueFd();
  return fd;
}

// Waits until the process behind the pidfd has exited (a zombie counts).
bool waitExit(int pidfd, int timeout_ms) {
  pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

Result<void> signalInit(const StoredState& s, int signal) {
  UniqueFd fd = openInit(s);
  if (!fd) return fail(Errc::kInvalidArgument, "container not running");
  if (::syscall(SYS_pidfd_send_signal, fd.get(), signal, nullptr, 0) != 0) {
    return failErrno(fmt::format("kill {} with signal {}", s.pid, signal));
  }
  return {};
}

// The config.json a container was created with.
Result<oci::RuntimeSpec> readSpec(const std::filesystem::path& root, const std::string& id) {
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(root / id / kConfigFile, 16u << 20));
  return oci::parseRuntimeSpec(text);
}

// The spec's hooks, for poststart and poststop; config.json (a 16 KB parse with a seccomp
// profile) is read only when state.json does not say there are none.
std::optional<oci::Hooks> lateHooks(const std::filesystem::path& root, const std::string& id,
                                    const StoredState& s) {
  if (!s.late_hooks.value_or(true)) return std::nullopt;
  auto spec = readSpec(root, id);
  if (!spec || !spec->hooks) return std::nullopt;
  return spec->hooks;
}

State publicState(const StoredState& s, Status status) {
  State st;
  st.id = s.id;
  st.status = status;
  st.pid = status == Status::kStopped ? 0 : s.pid;
  st.bundle = s.bundle;
  st.rootfs = s.rootfs;
  st.annotations = s.annotations;
  st.created = s.created;
  st.owner = s.owner;
  return st;
}

}  // namespace

std::string_view statusName(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kStopped:
      return "stopped";
  }
  return "unknown";
}

Json toJson(const State& s) {
  Json j = {{"ociVersion", s.oci_version},    {"id", s.id},         {"pid", s.pid},
            {"status", statusName(s.status)}, {"bundle", s.bundle}, {"rootfs", s.rootfs},
            {"created", s.created},           {"owner", s.owner}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

int namespaceFlag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "time") return CLONE_NEWTIME;
  return 0;
}

std::string hookState(const std::string& id, Status status, pid_t pid, const std::string& bundle,
                      const std::map<std::string, std::string>& annotations) {
  State st;
  st.id = id;
  st.status = status;
  st.pid = pid;
  st.bundle = bundle;
  st.annotations = annotations;
  Json j = toJson(st);
  j.erase("rootfs");
  j.erase("created");
  j.erase("owner");
  return j.dump();
}

Result<UniqueFd> openDevNull() {
  UniqueFd fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!fd) return failErrno("open /dev/null");
  return fd;
}

Result<StoredState> loadStoredState(const std::filesystem::path& root, const std::string& id) {
  HULL_TRY(validateId(id));
  auto text = readFile(root / id / kStateFile, 1u << 20);
  if (!text) {
    return fail(Errc::kNotFound, "container \"" + id + "\" does not exist");
  }
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(*text, "state.json"));
  return storedStateFromJson(j);
}

Status statusOf(const StoredState& s, const std::filesystem::path& dir) {
  if (!initAlive(s)) return Status::kStopped;
  if (::access((dir / kExecFifo).c_str(), F_OK) == 0) return Status::kCreated;
  return Status::kRunning;
}

Result<Runtime> Runtime::open(std::filesystem::path state_root) {
  HULL_TRY(mkdirAll(state_root, 0700));
  return Runtime(std::move(state_root));
}

Result<void> Runtime::start(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(StoredState s, loadStoredState(root_, id));
  std::filesystem::path dir = root_ / id;
  Status status = statusOf(s, dir);
  if (status == Status::kStopped) {
    return fail(Errc::kInvalidArgument, "cannot start a container that has stopped");
  }
  if (status == Status::kRunning) {
    return fail(Errc::kInvalidArgument, "cannot start an already running container");
  }
  std::filesystem::path fifo = dir / kExecFifo;
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENXIO || errno == ENOENT)
      return fail(Errc::kInvalidArgument, "container not running");
    return failErrno("open " + fifo.string());
  }
  // Gone first: from here on `state` says running.
  ::unlink(fifo.c_str());
  if (::write(fd.get(), "0", 1) != 1) return failErrno("write " + fifo.string());
  // A failing poststart hook is reported by nobody: the container runs on (runtime-spec).
  if (auto hooks = lateHooks(root_, id, s)) {
    (void)runHooks(hooks->poststart,
                   hookState(id, Status::kRunning, s.pid, s.bundle, s.annotations), "poststart");
  }
  return {};
}

Result<State> Runtime::state(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(StoredState s, loadStoredState(root_, id));
  return publicState(s, statusOf(s, root_ / id));
}

Result<std::vector<State>> Runtime::list() {
  std::vector<State> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    std::string id = entry.path().filename().string();
    auto s = loadStoredState(root_, id);
    if (!s) continue;  // a container being created or deleted right now
    out.push_back(publicState(*s, statusOf(*s, entry.path())));
  }
  if (ec) return failErrno("list " + root_.string(), ec.value());
  std::sort(out.begin(), out.end(), [](const State& a, const State& b) { return a.id < b.id; });
  return out;
}

Result<void> Runtime::kill(const std::string& id, int signal, bool all) {
  HULL_ASSIGN_OR_RETURN(StoredState s, loadStoredState(root_, id));
  if (!all) return signalInit(s, signal);
  HULL_ASSIGN_OR_RETURN(CgroupSystem cgroups, CgroupSystem::detect());
  Cgroup cgroup = Cgroup::open(cgroups, s.cgroup_path);
  HULL_ASSIGN_OR_RETURN(auto pids, cgroup.pids());
  if (pids.empty() && !initAlive(s)) return fail(Errc::kInvalidArgument, "container not running");
  for (pid_t pid : pids) ::kill(pid, signal);
  return {};
}

Result<oci::RuntimeSpec> Runtime::spec(const std::string& id) {
  HULL_TRY(loadStoredState(root_, id));
  return readSpec(root_, id);
}

Result<std::vector<pid_t>> Runtime::pids(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(StoredState s, loadStoredState(root_, id));
  HULL_ASSIGN_OR_RETURN(CgroupSystem cgroups, CgroupSystem::detect());
  return Cgroup::open(cgroups, s.cgroup_path).pids();
}

std::optional<int> execFailureStatus(const Error& error) {
  if (!error.message.starts_with("exec: ")) return std::nullopt;
  if (error.code == Errc::kNotFound) return 127;
  if (error.code == Errc::kPermission) return 126;
  return std::nullopt;
}

Result<void> Runtime::remove(const std::string& id, bool force) {
  auto loaded = loadStoredState(root_, id);
  if (!loaded) {
    if (loaded.error().code == Errc::kNotFound && force) return {};
    return fail(loaded.error());
  }
  const StoredState& s = *loaded;
  std::filesystem::path dir = root_ / id;
  Status status = statusOf(s, dir);
  if (status == Status::kRunning && !force) {
    return fail(Errc::kBusy, "cannot delete container " + id + " that is not stopped: running");
  }
  HULL_ASSIGN_OR_RETURN(CgroupSystem cgroups, CgroupSystem::detect());
  Cgroup cgroup = Cgroup::open(cgroups, s.cgroup_path);
  if (UniqueFd init = openInit(s)) {
    ::syscall(SYS_pidfd_send_signal, init.get(), SIGKILL, nullptr, 0);
    if (!waitExit(init.get(), 10000)) {
      return fail(Errc::kBusy, fmt::format("container {}: init {} did not exit", id, s.pid));
    }
  }
  if (auto hooks = lateHooks(root_, id, s)) {
    (void)runHooks(hooks->poststop, hookState(id, Status::kStopped, 0, s.bundle, s.annotations),
                   "poststop");
  }
  // Processes that left init's pid namespace view (or with no pid namespace at all).
  if (auto pids = cgroup.pids(); pids && !pids->empty()) HULL_TRY(cgroup.killAll());
  HULL_TRY(cgroup.destroy());
  return removeAll(dir);
}

}  // namespace hull::runtime
