// A RUN step: one container over a build mount, in the foreground, with Docker's default
// isolation (the same planning as `hull run`), the step's mounts, its output relayed as it
// comes, and cancellation polled while it runs.
//
// Mount targets missing from the image (the /etc files, a cache mount's dir) are made for the
// run and removed after it, with their parent's times put back, as BuildKit does: they must not
// become part of the layer.
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "engine/build_executor_internal.h"
#include "engine/container_run.h"
#include "engine/containers.h"
#include "engine/rootfs_view.h"
#include "engine/run_spec.h"
#include "engine/run_spec_internal.h"
#include "runtime/runtime.h"

namespace hull::engine::detail {

namespace {

constexpr int kPollMs = 50;
constexpr std::string_view kBuildHostname = "buildkitsandbox";

bool hasEnv(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env) {
    if (e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=') return true;
  }
  return false;
}

oci::Mount runMount(const build::RunMount& m) {
  if (m.kind == build::RunMount::Kind::kTmpfs) {
    oci::Mount t{.destination = m.target,
                 .type = "tmpfs",
                 .source = "tmpfs",
                 .options = {"nosuid", "nodev"}};
    if (m.size) t.options.push_back(fmt::format("size={}", *m.size));
    if (m.mode) t.options.push_back(fmt::format("mode={:o}", *m.mode));
    return t;
  }
  return oci::Mount{.destination = m.target,
                    .type = "bind",
                    .source = m.source.string(),
                    .options = {"rbind", m.readonly ? "ro" : "rw"}};
}

// The container of one step, planned as `hull run --rm` plans one, then given the step's own
// environment (the whole of it: PATH and HOME only where missing) and mounts.
Result<ContainerPlan> planStep(const store::Store& store, BuildMount& root,
                               const build::RunRequest& req, const std::string& id,
                               oci::SpecEdit* devices) {
  oci::ImageConfig image;
  image.config.user = req.user;
  image.config.working_dir = req.workdir.empty() ? "/" : req.workdir;
  image.config.cmd = req.args;
  RunOptions options;
  options.image = "build";
  options.rm = true;
  options.network = req.network == "none" ? "none" : "host";
  options.hostname = std::string(kBuildHostname);
  HULL_ASSIGN_OR_RETURN(DirRootfsView view, DirRootfsView::open(root.root()));
  HULL_ASSIGN_OR_RETURN(ContainerPlan plan, planContainer(image, options, view, id));
  bindPlanPaths(plan, root.dir(), store.root() / "volumes");
  oci::Process& p = *plan.spec.process;
  p.args = req.args;
  p.env = req.env;
  if (!hasEnv(p.env, "PATH")) p.env.push_back(fmt::format("PATH={}", kDefaultPath));
  if (!hasEnv(p.env, "HOME")) p.env.push_back("HOME=" + plan.user.home);
  // The etc files are the host's view for the step, not the image's: read-only, as BuildKit
  // mounts them.
  for (auto& m : plan.spec.mounts) {
    if (m.destination.starts_with("/etc/") && m.type == "bind" &&
        fs::path(m.source).parent_path() == root.dir() &&
        std::find(m.options.begin(), m.options.end(), "ro") == m.options.end()) {
      m.options.push_back("ro");
    }
  }
  for (const auto& m : req.mounts) plan.spec.mounts.push_back(runMount(m));
  HULL_ASSIGN_OR_RETURN(*devices, stepDevices(req, *plan.spec.process, view));
  oci::applySpecEdit(plan.spec, *devices);
  return plan;
}

std::vector<std::string> components(const std::string& path) {
  std::string clean = cleanPath("/" + path).substr(1);
  std::vector<std::string> out;
  std::string prefix;
  for (const auto& part : splitList(clean, '/')) {
    prefix = prefix.empty() ? part : prefix + "/" + part;
    out.push_back(prefix);
  }
  return out;
}

std::string parentOf(const std::string& rel) {
  std::size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

// What making one mount target will create, and the directory it is made in.
struct Stub {
  std::vector<std::string> created;  // relative paths, outermost first
  std::string parent;
  struct stat parent_before {};
};

// Records, before the targets are made, what each will create; remembers in `mount` the
// directories overlay will copy up for it.
std::vector<Stub> planStubs(BuildMount& mount, int root_fd, const oci::RuntimeSpec& spec) {
  std::vector<Stub> stubs;
  auto defaults = defaultMounts(0);
  for (const auto& m : spec.mounts) {
    bool is_default = std::any_of(defaults.begin(), defaults.end(), [&](const oci::Mount& d) {
      return d.destination == m.destination && d.type == m.type;
    });
    if (is_default) continue;
    Stub stub;
    for (const auto& prefix : components(m.destination)) {
      UniqueFd fd(openInRoot(root_fd, prefix, O_PATH));
      if (!fd) stub.created.push_back(prefix);
    }
    if (stub.created.empty()) continue;
    stub.parent = parentOf(stub.created.front());
    UniqueFd parent(openInRoot(root_fd, stub.parent, O_PATH | O_DIRECTORY));
    if (!parent || ::fstat(parent.get(), &stub.parent_before) != 0) continue;
    // The parent and its ancestors overlay copies up when the stub is made, deepest first.
    for (std::string dir = stub.parent; !dir.empty(); dir = parentOf(dir)) {
      std::error_code ec;
      if (fs::exists(mount.upper() / dir, ec)) break;
      struct stat before {};
      UniqueFd fd(openInRoot(root_fd, dir, O_PATH | O_DIRECTORY));
      if (!fd || ::fstat(fd.get(), &before) != 0) break;
      mount.copiedUp().push_back(CopiedUpDir{.path = dir, .before = before});
    }
    stubs.push_back(std::move(stub));
  }
  return stubs;
}

// Removes what the stubs created (what a RUN filled stays) and puts their parents' times back.
void removeStubs(int root_fd, const std::vector<Stub>& stubs) {
  for (auto s = stubs.rbegin(); s != stubs.rend(); ++s) {
    for (auto it = s->created.rbegin(); it != s->created.rend(); ++it) {
      UniqueFd dir(openInRoot(root_fd, parentOf(*it), O_RDONLY | O_DIRECTORY));
      if (!dir) break;
      std::string name = it->substr(it->rfind('/') == std::string::npos ? 0 : it->rfind('/') + 1);
      struct stat st {};
      if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      bool is_dir = S_ISDIR(st.st_mode);
      if (!is_dir && st.st_size != 0) break;  // written through a mount? keep it
      if (::unlinkat(dir.get(), name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0) break;
    }
    UniqueFd parent(openInRoot(root_fd, s->parent, O_RDONLY | O_DIRECTORY));
    if (!parent) continue;
    timespec times[2] = {s->parent_before.st_atim, s->parent_before.st_mtim};
    (void)::futimens(parent.get(), times);
  }
}

// Makes the working dir and the targets of the step's mounts that are missing. Unlike
// prepareMountTargets, never opens an existing file for writing: on overlay that would copy it
// up into the layer.
Result<void> prepareStepTargets(int root_fd, const oci::RuntimeSpec& spec) {
  HULL_TRY(mkdirInRoot(root_fd, spec.process->cwd));
  auto defaults = defaultMounts(0);
  for (const auto& m : spec.mounts) {
    bool is_default = std::any_of(defaults.begin(), defaults.end(), [&](const oci::Mount& d) {
      return d.destination == m.destination && d.type == m.type;
    });
    std::string rel = cleanPath("/" + m.destination).substr(1);
    if (is_default || UniqueFd(openInRoot(root_fd, rel, O_PATH))) continue;
    struct stat st {};
    bool file_source =
        m.type == "bind" && ::stat(m.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    if (!file_source) {
      HULL_TRY(mkdirInRoot(root_fd, m.destination));
      continue;
    }
    std::string parent = parentOf(rel);
    HULL_TRY(mkdirInRoot(root_fd, "/" + parent));
    UniqueFd dir(openInRoot(root_fd, parent, O_RDONLY | O_DIRECTORY));
    if (!dir) return failErrno("open /" + parent + " in rootfs");
    std::string name = rel.substr(parent.empty() ? 0 : parent.size() + 1);
    UniqueFd file(::openat(dir.get(), name.c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!file && errno != EEXIST) return failErrno("create mount target " + m.destination);
  }
  return {};
}

// Relays output until the process has exited and the pipe is closed; kills the container when
// cancel is set. Waits on a pidfd beside the pipe, so an exit is seen at once; the timeout is
// only for polling cancel. Returns the wait status.
Result<int> waitStep(runtime::Runtime& rt, const std::string& id, pid_t pid, int out_fd,
                     const build::RunRequest& req) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  std::vector<char> buffer(64 * 1024);
  bool exited = false, eof = false, cancelled = false;
  int status = 0, idle_after_exit = 0;
  while (!exited || !eof) {
    pollfd fds[2] = {{.fd = eof ? -1 : out_fd, .events = POLLIN, .revents = 0},
                     {.fd = exited ? -1 : pidfd.get(), .events = POLLIN, .revents = 0}};
    int ready = ::poll(fds, 2, kPollMs);
    if (ready > 0 && fds[0].revents != 0) {
      ssize_t n = ::read(out_fd, buffer.data(), buffer.size());
      if (n > 0 && req.output) req.output(std::string_view(buffer.data(), std::size_t(n)));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) eof = true;
    } else if (ready == 0 && exited && ++idle_after_exit > 20) {
      break;  // something outside the container's pid namespace holds the pipe
    }
    if (!exited) {
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        exited = true;
        (void)rt.kill(id, SIGKILL, true);  // stragglers in a shared pid namespace
      }
    }
    if (!exited && !cancelled && req.cancel != nullptr && req.cancel->load()) {
      cancelled = true;
      (void)rt.kill(id, SIGKILL, true);
    }
  }
  if (cancelled) return fail(Errc::kCancelled, "cancelled");
  return status;
}

}  // namespace

Result<int> runStep(const store::Store& store, BuildMount& root, const build::RunRequest& req) {
  if (req.args.empty()) return fail(Errc::kInvalidArgument, "RUN: empty command");
  HULL_ASSIGN_OR_RETURN(std::string id, newContainerId());
  oci::SpecEdit devices;
  HULL_ASSIGN_OR_RETURN(ContainerPlan plan, planStep(store, root, req, id, &devices));
  HULL_TRY(writeEtcFiles(plan, root.dir()));
  UniqueFd root_fd(::open(root.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return failErrno("open " + root.root().string());
  std::vector<Stub> stubs = planStubs(root, root_fd.get(), plan.spec);
  ScopeExit unstub([&] { removeStubs(root_fd.get(), stubs); });
  // Runs before unstub: the stubs' directories are empty only once the links are gone.
  DeviceLeftovers leftovers(root_fd.get(), devices);
  ScopeExit tidy([&] { leftovers.remove(); });
  HULL_TRY(prepareStepTargets(root_fd.get(), plan.spec));

  Containers containers(store.root());
  HULL_ASSIGN_OR_RETURN(runtime::Runtime rt, runtime::Runtime::open(containers.runtimeRoot()));
  HULL_ASSIGN_OR_RETURN(FdPipe out, makePipe());
  runtime::CreateOptions options;
  options.stdio.out = out.write.get();
  options.stdio.err = out.write.get();
  ScopeExit remove([&] { (void)rt.remove(id, true); });
  // Hooks (a CDI device's ld cache hook) read the spec from the bundle, as the runtime spec
  // promises them; the bundle is the mount's own directory, outside the layer.
  if (plan.spec.hooks && *plan.spec.hooks != oci::Hooks{}) {
    HULL_TRY(writeFileAtomic(root.dir() / "config.json", oci::serialize(plan.spec), 0600));
  }
  auto created = rt.create(id, root.dir(), plan.spec, options);
  out.write.reset();
  if (!created) {
    // A command that cannot be found or run is the step's failure, as a shell reports it.
    int status = startErrorStatus(created.error());
    if (status != 126 && status != 127) return fail(created.error().wrap("RUN"));
    if (req.output) req.output(created.error().message + "\n");
    return status;
  }
  if (auto started = rt.start(id); !started) {
    (void)rt.kill(id, SIGKILL, true);
    int ignored = 0;
    (void)::waitpid(created->pid, &ignored, 0);
    return fail(started.error().wrap("RUN"));
  }
  HULL_ASSIGN_OR_RETURN(int status, waitStep(rt, id, created->pid, out.read.get(), req));
  return exitStatusOf(status);
}

}  // namespace hull::engine::detail
