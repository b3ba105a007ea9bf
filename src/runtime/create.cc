// Runtime::create: the parent side prepares everything it can (spec checks, seccomp filter,
// capability numbers, cgroup, fifo), then forks a short-lived stage that joins the namespaces
// named by path and clones init with the new ones (CLONE_PARENT: init is the caller's child).
// Init is born in the container's v2 cgroup (clone3), joins the v1 trees itself (CgroupEntry),
// builds the rootfs, reports "ready" and blocks on exec.fifo until `start`.
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "runtime/cgroup.h"
#include "runtime/channel.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/process_setup.h"
#include "runtime/rootfs.h"

namespace hull::runtime {
namespace {

// Replaces a file of the state directory atomically (a reader sees the old or the new one) but
// without fsync: the state describes a live process, which a crash ends anyway, so durability
// would only add disk flushes to every container start (runc and crun do not sync it either).
Result<void> writeStateFile(const fs::path& target, std::string_view data, mode_t mode) {
  fs::path tmp = uniquePath(target.parent_path(), ".tmp");
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
  ScopeExit cleanup([&] { ::unlink(tmp.c_str()); });
  HULL_TRY(writeAll(fd.get(), data).map_error([&](Error e) { return e.wrap(tmp.string()); }));
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0) return failErrno("rename " + tmp.string());
  cleanup.dismiss();
  return {};
}

struct InitContext {
  const oci::RuntimeSpec* spec = nullptr;
  RootfsPlan rootfs;
  ProcessFds fds;
  std::optional<CapabilityPlan> capabilities;
  const SeccompFilter* seccomp = nullptr;
  std::vector<std::pair<int, int>> join;  // (namespace fd, CLONE_NEW*), the cgroup one aside
  int clone_flags = 0;
  bool new_cgroup_ns = false;
  int join_cgroup_ns = -1;              // joined by init once it is in its cgroup
  CgroupEntry* cgroup_entry = nullptr;  // init's way into its cgroup
  int clone_into = -1;                  // the v2 directory init is cloned into, if any
  std::filesystem::path bundle;         // relative bind sources are relative to it
  bool keep_keyring = false;            // --no-new-keyring
  std::string state_json;               // for hooks run by init, sent by the parent with "go"
};

bool hasHooksBeforePivot(const oci::RuntimeSpec& spec) {
  return spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty() ||
                        !spec.hooks->create_container.empty());
}

// Before pivot_root: the parent runs prestart and createRuntime hooks in the runtime's
// namespaces, then init runs createContainer hooks in the container's.
Result<void> hooksBeforePivot(const InitContext& c) {
  HULL_TRY(sendMessage(c.fds.sync, "hooks"));
  HULL_ASSIGN_OR_RETURN(auto reply, receiveMessage(c.fds.sync));
  if (!reply || reply->text != "resume") return fail(Errc::kIo, "the runtime went away");
  return runHooks(c.spec->hooks->create_container, c.state_json, "createContainer");
}

void onTerminate(int sig) { ::_exit(128 + sig); }

// A created container's init dies on the usual termination signals, as runc's does (pid 1 of a
// namespace ignores signals it has no handler for).
void installStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onTerminate;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &sa, nullptr);
}

Result<void> initSetup(InitContext& c, const oci::Process& p, std::string& exe) {
  if (c.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) != 0) return failErrno("unshare cgroup");
  HULL_TRY(arrangeFds(c.fds, p.terminal));
  if (::chdir(c.bundle.c_str()) != 0) return failErrno("chdir to the bundle " + c.bundle.string());
  // A session keyring of its own, so keys of the host's session are not visible (runc's default).
  if (!c.keep_keyring && ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 &&
      errno != ENOSYS) {
    return failErrno("join a new session keyring");
  }
  if (hasHooksBeforePivot(*c.spec)) c.rootfs.before_pivot = [&c] { return hooksBeforePivot(c); };
  HULL_TRY(setupRootfs(c.rootfs));
  const auto& hostname = c.spec->hostname;
  if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) != 0) {
    return failErrno("sethostname");
  }
  if (p.terminal) {
    HULL_TRY(setupTerminal(p, c.fds, true));
  } else if (::setsid() < 0) {
    return failErrno("setsid");
  }
  HULL_TRY(applyRlimits(p.rlimits));
  HULL_TRY(applyOomScoreAdj(p.oom_score_adj));
  HULL_TRY(enterCwd(p.cwd));
  HULL_ASSIGN_OR_RETURN(exe, findExecutable(p));
  return {};
}

[[noreturn]] void initMain(InitContext& c) {
  // Nothing in the container may open this process's /proc entries (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::umask(0);
  auto go = receiveMessage(c.fds.sync);
  if (!go || !*go || !(*go)->text.starts_with("go ")) ::_exit(1);
  c.state_json = (*go)->text.substr(3);
  if (auto r = c.cgroup_entry->joinV1(); !r) childFail(c.fds.sync, r.error());
  *c.cgroup_entry = {};
  if (c.join_cgroup_ns >= 0 && ::setns(c.join_cgroup_ns, CLONE_NEWCGROUP) != 0) {
    childFail(c.fds.sync, failErrno("setns cgroup").value());
  }
  const oci::Process& p = *c.spec->process;
  std::string exe;
  if (auto r = initSetup(c, p, exe); !r) childFail(c.fds.sync, r.error());
  installStopHandlers();
  if (!sendMessage(c.fds.sync, "ready")) ::_exit(1);
  ::close(c.fds.sync);
  char byte;
  ssize_t n;
  do {
    n = ::read(c.fds.fifo, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);
  ::close(c.fds.fifo);
  if (c.spec->hooks && !c.spec->hooks->start_container.empty()) {
    auto r = runHooks(c.spec->hooks->start_container, c.state_json, "startContainer");
    if (!r) {
      std::string line = "hull-runtime: " + r.error().message + "\n";
      (void)!::write(2, line.data(), line.size());
      ::_exit(1);
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &dfl, nullptr);
  FinalStep step{.process = &p,
                 .capabilities = c.capabilities,
                 .seccomp = c.seccomp,
                 .executable = exe,
                 .env = environmentWithHome(p),
                 .keep_fds = 3 + static_cast<int>(c.fds.preserve.size())};
  execFinal(step, -1);
}

// The short-lived middle stage: joins namespaces given by path, then clones init.
[[noreturn]] void stageMain(InitContext& c) {
  for (const auto& [fd, type] : c.join) {
    if (::setns(fd, type) != 0) childFail(c.fds.sync, failErrno("setns").value());
  }
  long pid = cloneProcess(static_cast<uint64_t>(c.clone_flags) | CLONE_PARENT, c.clone_into);
  if (pid < 0) childFail(c.fds.sync, failErrno("clone the container's init").value());
  if (pid == 0) initMain(c);
  (void)sendMessage(c.fds.sync, fmt::format("pid {}", pid));
  ::_exit(0);
}

Result<void> validateSpec(const oci::RuntimeSpec& spec) {
  if (!spec.process) return fail(Errc::kInvalidArgument, "config.json: process is missing");
  if (spec.process->args.empty()) {
    return fail(Errc::kInvalidArgument, "config.json: process.args must not be empty");
  }
  if (!spec.linux) return {};
  for (const auto& ns : spec.linux->namespaces) {
    if (ns.type == "time") {
      return fail(Errc::kUnsupported, "time namespaces are not supported by hull-runtime");
    }
    if (ns.type == "user") {
      return fail(Errc::kUnsupported, "user namespaces are not supported by hull-runtime yet");
    }
    if (namespaceFlag(ns.type) == 0) {
      return fail(Errc::kInvalidArgument, "unknown namespace type \"" + ns.type + "\"");
    }
  }
  return {};
}

// Fills clone flags and the namespaces to join; keeps the opened fds alive in `owned`.
Result<void> planNamespaces(const oci::RuntimeSpec& spec, InitContext& c,
                            std::vector<UniqueFd>& owned) {
  if (!spec.linux) return {};
  for (const auto& ns : spec.linux->namespaces) {
    int flag = namespaceFlag(ns.type);
    if (!ns.path.empty()) {
      UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return failErrno("open " + ns.type + " namespace " + ns.path);
      if (flag == CLONE_NEWCGROUP) {
        c.join_cgroup_ns = fd.get();  // by init, after it is cloned into its v2 cgroup
      } else {
        c.join.emplace_back(fd.get(), flag);
      }
      owned.push_back(std::move(fd));
    } else if (flag == CLONE_NEWCGROUP) {
      c.new_cgroup_ns = true;  // after init is in its cgroup, so that cgroup is the ns root
    } else {
      c.clone_flags |= flag;
    }
  }
  return {};
}

// The spec's device rules, then what every container needs (runc's allowed devices): mknod of
// anything, the standard character devices, the pty multiplexer and its slaves, and the
// devices the spec creates.
oci::Resources resourcesWithDefaultDevices(const oci::RuntimeSpec& spec) {
  oci::Resources r =
      spec.linux && spec.linux->resources ? *spec.linux->resources : oci::Resources{};
  auto rule = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                 const char* access) {
    return oci::DeviceCgroupRule{
        .allow = true, .type = type, .major = major, .minor = minor, .access = access};
  };
  r.devices.push_back(rule("c", {}, {}, "m"));
  r.devices.push_back(rule("b", {}, {}, "m"));
  const std::pair<int64_t, int64_t> kChar[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8},   {1, 9},
                                               {5, 0}, {5, 1}, {5, 2}, {10, 200}};
  for (const auto& [major, minor] : kChar) r.devices.push_back(rule("c", major, minor, "rwm"));
  r.devices.push_back(rule("c", 136, {}, "rwm"));
  if (spec.linux) {
    for (const auto& d : spec.linux->devices) {
      if (d.type == "c" || d.type == "b" || d.type == "u") {
        r.devices.push_back(rule(d.type == "b" ? "b" : "c", d.major, d.minor, "rwm"));
      }
    }
  }
  return r;
}

// Waits for init's messages until "ready"; the pty master comes first when requested, and
// init stops before pivot_root for the runtime-namespace hooks.
Result<void> awaitReady(int sync, const InitContext& c, const std::string& state_json,
                        Created& created) {
  for (;;) {
    HULL_ASSIGN_OR_RETURN(auto msg, receiveMessage(sync));
    if (!msg) return fail(Errc::kIo, "the container's init exited during setup");
    if (msg->text == "ready") return {};
    if (msg->text == "hooks") {
      HULL_TRY(runHooks(c.spec->hooks->prestart, state_json, "prestart"));
      HULL_TRY(runHooks(c.spec->hooks->create_runtime, state_json, "createRuntime"));
      HULL_TRY(sendMessage(sync, "resume"));
      continue;
    }
    if (msg->text == "console") {
      created.console_master = std::move(msg->fd);
      continue;
    }
    return fail(errorFromMessage(msg->text));
  }
}

Result<pid_t> awaitInitPid(int sync, pid_t stage) {
  auto msg = receiveMessage(sync);
  int status = 0;
  while (::waitpid(stage, &status, 0) < 0 && errno == EINTR) {
  }
  HULL_TRY(msg);
  if (!*msg) return fail(Errc::kIo, "the container's setup process exited early");
  const std::string& text = (*msg)->text;
  if (!text.starts_with("pid ")) return fail(errorFromMessage(text));
  return static_cast<pid_t>(std::stol(text.substr(4)));
}

}  // namespace

Result<Created> Runtime::create(const std::string& id, const std::filesystem::path& bundle,
                                const CreateOptions& options) {
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(bundle / "config.json", 16u << 20));
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, oci::parseRuntimeSpec(text));
  return create(id, bundle, spec, options);
}

namespace {

struct BundlePaths {
  std::filesystem::path bundle;  // absolute, no trailing "/" (runc records it so)
  std::filesystem::path rootfs;
};

Result<BundlePaths> resolveBundle(const std::filesystem::path& bundle,
                                  const oci::RuntimeSpec& spec) {
  std::error_code ec;
  BundlePaths p;
  p.bundle = std::filesystem::absolute(bundle, ec).lexically_normal();
  if (p.bundle.has_relative_path() && !p.bundle.has_filename()) p.bundle = p.bundle.parent_path();
  std::filesystem::path root(spec.root.path);
  p.rootfs = (root.is_absolute() ? root : p.bundle / root).lexically_normal();
  if (!std::filesystem::is_directory(p.rootfs, ec)) {
    return fail(Errc::kNotFound, "rootfs " + p.rootfs.string() + " is not a directory");
  }
  return p;
}

// The state directory and the fifo that holds init until `start`; returns the fifo, opened
// read-write so that opening it never blocks and init can read the start byte from it.
Result<UniqueFd> makeStateDir(const std::filesystem::path& dir, const std::string& id) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return fail(Errc::kAlreadyExists, "container \"" + id + "\" already exists");
    }
    return failErrno("create state directory " + dir.string());
  }
  std::filesystem::path fifo_path = dir / kExecFifo;
  if (::mkfifo(fifo_path.c_str(), 0600) != 0) return failErrno("mkfifo " + fifo_path.string());
  UniqueFd fifo(::open(fifo_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo) return failErrno("open " + fifo_path.string());
  return fifo;
}

// True when this process runs other threads (hull build's stages). Such a process must not
// clone init directly: a lock another thread holds at that moment (malloc's) stays locked forever
// in the child, which allocates. glibc's fork() takes those locks around the fork, so the forked
// stage is single-threaded and may clone.
bool hasOtherThreads() {
  UniqueFd fd(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
  char buf[1024];
  ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return true;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  // After "pid (comm)": state is field 3, num_threads field 20.
  for (int field = 2; p != nullptr && field < 20; ++field) p = std::strchr(p + 1, ' ');
  return p == nullptr || std::atoi(p + 1) != 1;
}

// Clones init: through the stage when namespaces are joined by path (setns must come before the
// clone, in a process that can be thrown away) or when other threads run, else straight from
// here, a fork fewer on every start. Either way init is our child. Closes our copy of init's end
// of the channel.
Result<pid_t> cloneInit(InitContext& c, UniqueFd& ours, UniqueFd& theirs) {
  c.fds.sync = theirs.get();
  if (!c.join.empty() || hasOtherThreads()) {
    pid_t stage = ::fork();
    if (stage < 0) return failErrno("fork");
    if (stage == 0) {
      ours.reset();
      stageMain(c);
    }
    theirs.reset();
    return awaitInitPid(ours.get(), stage);
  }
  long pid = cloneProcess(static_cast<uint64_t>(c.clone_flags), c.clone_into);
  if (pid < 0) return failErrno("clone the container's init");
  if (pid == 0) {
    ours.reset();
    initMain(c);
  }
  theirs.reset();
  return static_cast<pid_t>(pid);
}

// Clones init (into its v2 cgroup, or puts it there where clone3 cannot), lets it build the
// container, records it with `record` meanwhile and waits for "ready". On failure init is killed
// and reaped.
Result<Created> launchInit(const std::string& id, InitContext& c, const Cgroup& cgroup,
                           const std::function<Result<void>(pid_t)>& record) {
  HULL_ASSIGN_OR_RETURN(auto channel, channelPair());
  HULL_ASSIGN_OR_RETURN(pid_t pid, cloneInit(c, channel.first, channel.second));
  ScopeExit kill_init([&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
  if (c.clone_into < 0) HULL_TRY(cgroup.addProcessToV2(pid));
  std::string state = hookState(id, Status::kCreating, pid, c.bundle.string(), c.spec->annotations);
  HULL_TRY(sendMessage(channel.first.get(), "go " + state));
  HULL_TRY(record(pid));
  Created created;
  created.pid = pid;
  HULL_TRY(awaitReady(channel.first.get(), c, state, created));
  kill_init.dismiss();
  return created;
}

}  // namespace

Result<Created> Runtime::create(const std::string& id, const std::filesystem::path& bundle,
                                const oci::RuntimeSpec& spec, const CreateOptions& options) {
  // Plan: everything that can be checked before anything is made.
  HULL_TRY(validateId(id));
  HULL_TRY(validateSpec(spec));
  HULL_ASSIGN_OR_RETURN(BundlePaths paths, resolveBundle(bundle, spec));
  InitContext c;
  c.spec = &spec;
  c.bundle = paths.bundle;
  c.keep_keyring = options.no_new_keyring;
  const oci::Process& process = *spec.process;
  std::optional<SeccompFilter> seccomp;
  if (spec.linux && spec.linux->seccomp) {
    SeccompCache cache(SeccompCache::forRuntimeRoot(root_));
    HULL_ASSIGN_OR_RETURN(
        seccomp, SeccompFilter::build(*spec.linux->seccomp, process.no_new_privileges, cache));
    c.seccomp = &*seccomp;
  }
  if (process.capabilities) {
    HULL_ASSIGN_OR_RETURN(c.capabilities, planCapabilities(*process.capabilities));
  }
  std::vector<UniqueFd> ns_fds;
  HULL_TRY(planNamespaces(spec, c, ns_fds));
  HULL_ASSIGN_OR_RETURN(UniqueFd null, openDevNull());

  // Act: state directory, cgroup, init; each undone if a later step fails.
  std::filesystem::path dir = root_ / id;
  HULL_ASSIGN_OR_RETURN(UniqueFd fifo, makeStateDir(dir, id));
  ScopeExit remove_dir([&] { (void)removeAll(dir); });
  std::string cgroup_path =
      spec.linux && !spec.linux->cgroups_path.empty() ? spec.linux->cgroups_path : "/hull/" + id;
  HULL_ASSIGN_OR_RETURN(CgroupSystem cgroups, CgroupSystem::detect());
  HULL_ASSIGN_OR_RETURN(Cgroup cgroup,
                        Cgroup::create(cgroups, cgroup_path, resourcesWithDefaultDevices(spec)));
  ScopeExit destroy_cgroup([&] { (void)cgroup.destroy(); });
  HULL_ASSIGN_OR_RETURN(CgroupEntry entry, cgroup.openEntry());
  c.cgroup_entry = &entry;
  if (entry.v2_dir && cloneIntoCgroupWorks()) c.clone_into = entry.v2_dir.get();
  c.rootfs = RootfsPlan{.spec = &spec,
                        .rootfs = paths.rootfs,
                        .cgroups = cgroups,
                        .cgroup_path = cgroup.path(),
                        .cgroup_namespace = c.new_cgroup_ns,
                        .no_pivot = options.no_pivot,
                        .before_pivot = {}};
  const Stdio& io = options.stdio;
  c.fds = ProcessFds{.sync = -1,
                     .fifo = fifo.get(),
                     .console_socket = io.console_socket,
                     .in = io.in >= 0 ? io.in : null.get(),
                     .out = io.out >= 0 ? io.out : null.get(),
                     .err = io.err >= 0 ? io.err : null.get(),
                     .preserve = io.preserve};
  // Record, while init builds the container: state.json with init's start time, the spec for
  // exec.
  auto record = [&](pid_t pid) -> Result<void> {
    auto stat = readProcessStat(pid);
    if (!stat) return fail(Errc::kIo, "the container's init exited during setup");
    bool late_hooks =
        spec.hooks && (!spec.hooks->poststart.empty() || !spec.hooks->poststop.empty());
    StoredState st{.id = id,
                   .pid = pid,
                   .pid_start_time = stat->start_time,
                   .bundle = paths.bundle.string(),
                   .rootfs = paths.rootfs.string(),
                   .created = nowRfc3339(),
                   .cgroup_path = cgroup.path(),
                   .owner = "",
                   .annotations = spec.annotations,
                   .late_hooks = late_hooks};
    std::string serialized = options.spec_json.empty() ? oci::serialize(spec) : std::string();
    HULL_TRY(writeStateFile(dir / kConfigFile,
                            options.spec_json.empty() ? serialized : options.spec_json, 0600));
    return writeStateFile(dir / kStateFile, toJson(st).dump() + "\n", 0600);
  };
  HULL_ASSIGN_OR_RETURN(Created created, launchInit(id, c, cgroup, record));
  ScopeExit kill_init([&] {
    ::kill(created.pid, SIGKILL);
    ::waitpid(created.pid, nullptr, 0);
  });
  if (!options.pid_file.empty()) {
    HULL_TRY(writeFileAtomic(options.pid_file, std::to_string(created.pid), 0644));
  }
  kill_init.dismiss();
  destroy_cgroup.dismiss();
  remove_dir.dismiss();
  return created;
}

}  // namespace hull::runtime
