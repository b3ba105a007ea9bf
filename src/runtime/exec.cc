// Runtime::exec: one more process in a running container. A forked stage joins the container's
// v1 cgroups and init's namespaces — mount last, cgroup aside — and clones the process into the
// container's v2 cgroup (CgroupEntry); the process lands in init's pid namespace, is the caller's
// child (CLONE_PARENT) and joins the cgroup namespace itself. The process never
// runs the host's hull binary once it can be seen from the container: the stage is not
// dumpable, and the process's next image is the container's own executable.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "runtime/cgroup.h"
#include "runtime/channel.h"
#include "runtime/internal.h"
#include "runtime/process_setup.h"
#include "runtime/seccomp_cache.h"

namespace hull::runtime {
namespace {

struct ExecContext {
  const oci::Process* process = nullptr;
  ProcessFds fds;
  std::optional<CapabilityPlan> capabilities;
  const SeccompFilter* seccomp = nullptr;
  std::vector<std::pair<int, int>> join;  // (namespace fd, CLONE_NEW*), the cgroup one aside
  int cgroup_ns = -1;
  CgroupEntry* cgroup_entry = nullptr;
  int clone_into = -1;  // the v2 directory the process is cloned into, if any
};

// Init's namespaces that differ from ours, mount last (it changes how paths resolve).
Result<std::vector<UniqueFd>> openNamespaces(pid_t pid, ExecContext& c) {
  std::vector<UniqueFd> owned;
  const std::pair<const char*, int> kinds[] = {{"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
                                               {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID},
                                               {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
  for (const auto& [name, flag] : kinds) {
    std::string path = fmt::format("/proc/{}/ns/{}", pid, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return failErrno("open " + path);
    struct stat theirs {
    }, ours{};
    std::string own = std::string("/proc/self/ns/") + name;
    if (::fstat(fd.get(), &theirs) == 0 && ::stat(own.c_str(), &ours) == 0 &&
        theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
      continue;
    }
    if (flag == CLONE_NEWCGROUP) {
      c.cgroup_ns = fd.get();
    } else {
      c.join.emplace_back(fd.get(), flag);
    }
    owned.push_back(std::move(fd));
  }
  return owned;
}

[[noreturn]] void processMain(ExecContext& c) {
  const oci::Process& p = *c.process;
  *c.cgroup_entry = {};
  // After the clone: a child is cloned into a v2 cgroup only from a cgroup namespace that sees it.
  if (c.cgroup_ns >= 0 && ::setns(c.cgroup_ns, CLONE_NEWCGROUP) != 0) {
    childFail(c.fds.sync, failErrno("setns cgroup").value());
  }
  auto setup = [&]() -> Result<std::string> {
    HULL_TRY(arrangeFds(c.fds, p.terminal));
    if (p.terminal) HULL_TRY(setupTerminal(p, c.fds, false));
    HULL_TRY(applyRlimits(p.rlimits));
    HULL_TRY(applyOomScoreAdj(p.oom_score_adj));
    HULL_TRY(enterCwd(p.cwd));
    return findExecutable(p);
  };
  auto exe = setup();
  if (!exe) childFail(c.fds.sync, exe.error(), exe.error().code == Errc::kNotFound ? 127 : 1);
  FinalStep step{.process = &p,
                 .capabilities = c.capabilities,
                 .seccomp = c.seccomp,
                 .executable = *exe,
                 .env = environmentWithHome(p),
                 .keep_fds = 3 + static_cast<int>(c.fds.preserve.size())};
  execFinal(step, c.fds.sync);
}

[[noreturn]] void execStageMain(ExecContext& c) {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto go = receiveMessage(c.fds.sync);
  if (!go || !*go || (*go)->text != "go") ::_exit(1);
  if (auto r = c.cgroup_entry->joinV1(); !r) childFail(c.fds.sync, r.error());
  for (const auto& [fd, type] : c.join) {
    if (::setns(fd, type) != 0) childFail(c.fds.sync, failErrno("setns").value());
  }
  long pid = cloneProcess(CLONE_PARENT, c.clone_into);
  if (pid < 0) childFail(c.fds.sync, failErrno("clone").value());
  if (pid == 0) processMain(c);
  (void)sendMessage(c.fds.sync, fmt::format("pid {}", pid));
  ::_exit(0);
}

Result<pid_t> awaitPid(int sync, pid_t stage) {
  auto msg = receiveMessage(sync);
  while (::waitpid(stage, nullptr, 0) < 0 && errno == EINTR) {
  }
  HULL_TRY(msg);
  if (!*msg) return fail(Errc::kIo, "the exec setup process exited early");
  if (!(*msg)->text.starts_with("pid ")) return fail(errorFromMessage((*msg)->text));
  return static_cast<pid_t>(std::stol((*msg)->text.substr(4)));
}

// Until EOF (the process exec'd): a pty master, or an error.
Result<void> awaitExec(int sync, pid_t pid, Created& created) {
  for (;;) {
    HULL_ASSIGN_OR_RETURN(auto msg, receiveMessage(sync));
    if (!msg) return {};
    if (msg->text == "console") {
      created.console_master = std::move(msg->fd);
      continue;
    }
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return fail(errorFromMessage(msg->text));
  }
}

}  // namespace

Result<Created> Runtime::exec(const std::string& id, const oci::Process& process,
                              const ExecOptions& options) {
  HULL_ASSIGN_OR_RETURN(StoredState s, loadStoredState(root_, id));
  std::filesystem::path dir = root_ / id;
  if (statusOf(s, dir) == Status::kStopped) {
    return fail(Errc::kInvalidArgument, "cannot exec in a stopped container");
  }
  if (process.args.empty()) return fail(Errc::kInvalidArgument, "process.args must not be empty");
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(dir / kConfigFile, 16u << 20));
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, oci::parseRuntimeSpec(text));
  ExecContext c;
  c.process = &process;
  HULL_ASSIGN_OR_RETURN(std::vector<UniqueFd> ns_fds, openNamespaces(s.pid, c));
  if (!initAlive(s)) return fail(Errc::kInvalidArgument, "container not running");
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
  HULL_ASSIGN_OR_RETURN(CgroupSystem cgroups, CgroupSystem::detect());
  Cgroup cgroup = Cgroup::open(cgroups, s.cgroup_path);
  HULL_ASSIGN_OR_RETURN(CgroupEntry entry, cgroup.openEntry());
  c.cgroup_entry = &entry;
  if (entry.v2_dir && cloneIntoCgroupWorks()) c.clone_into = entry.v2_dir.get();
  HULL_ASSIGN_OR_RETURN(UniqueFd null, openDevNull());
  const Stdio& io = options.stdio;
  HULL_ASSIGN_OR_RETURN(auto channel, channelPair());
  c.fds = ProcessFds{.sync = channel.second.get(),
                     .fifo = -1,
                     .console_socket = io.console_socket,
                     .in = io.in >= 0 ? io.in : null.get(),
                     .out = io.out >= 0 ? io.out : null.get(),
                     .err = io.err >= 0 ? io.err : null.get(),
                     .preserve = io.preserve};
  pid_t stage = ::fork();
  if (stage < 0) return failErrno("fork");
  if (stage == 0) {
    channel.first.reset();
    execStageMain(c);
  }
  channel.second.reset();
  ScopeExit reap_stage([&] {
    ::kill(stage, SIGKILL);
    ::waitpid(stage, nullptr, 0);
  });
  if (c.clone_into < 0) HULL_TRY(cgroup.addProcessToV2(stage));
  HULL_TRY(sendMessage(channel.first.get(), "go"));
  reap_stage.dismiss();
  HULL_ASSIGN_OR_RETURN(pid_t pid, awaitPid(channel.first.get(), stage));
  Created created;
  created.pid = pid;
  HULL_TRY(awaitExec(channel.first.get(), pid, created));
  if (!options.pid_file.empty()) {
    HULL_TRY(writeFileAtomic(options.pid_file, std::to_string(pid), 0644));
  }
  return created;
}

}  // namespace hull::runtime
