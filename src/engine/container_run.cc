// `hull run`: prepare, then start in the foreground or under a supervisor (container_run.h).
#include "engine/container_run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "engine/container_monitor.h"
#include "engine/container_terminal.h"
#include "engine/gpu.h"
#include "engine/rootfs.h"
#include "engine/rootfs_view.h"
#include "engine/run_spec.h"
#include "engine/volumes.h"
#include "runtime/runtime.h"

namespace hull::engine {
namespace {

bool isEtcMount(std::string_view dst) {
  return dst == "/etc/hostname" || dst == "/etc/hosts" || dst == "/etc/resolv.conf" ||
         dst == kInitPath;
}

bool isBind(const oci::Mount& m) {
  return m.type == "bind" ||
         std::find(m.options.begin(), m.options.end(), "bind") != m.options.end() ||
         std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end();
}

bool readOnly(const oci::Mount& m) {
  return std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
}

// Docker's Mounts[]: volumes and binds the user asked for.
std::vector<MountSummary> mountSummaries(const ContainerPlan& plan) {
  std::vector<MountSummary> out;
  for (std::size_t i = 0; i < plan.spec.mounts.size(); ++i) {
    const oci::Mount& m = plan.spec.mounts[i];
    auto volume = std::find_if(plan.volumes.begin(), plan.volumes.end(),
                               [&](const PlannedVolume& v) { return v.mount_index == i; });
    if (volume != plan.volumes.end()) {
      out.push_back(MountSummary{.type = "volume",
                                 .name = volume->name,
                                 .source = m.source,
                                 .destination = m.destination,
                                 .rw = !volume->read_only});
    } else if (isBind(m) && !isEtcMount(m.destination)) {
      out.push_back(MountSummary{.type = "bind",
                                 .name = "",
                                 .source = m.source,
                                 .destination = m.destination,
                                 .rw = !readOnly(m)});
    }
  }
  return out;
}

Json hostConfig(const RunOptions& o, const ContainerPlan& plan) {
  Json h = {{"Binds", o.volumes},    {"NetworkMode", o.network},
            {"AutoRemove", o.rm},    {"ReadonlyRootfs", o.read_only},
            {"Init", o.init},        {"CapAdd", o.cap_add},
            {"CapDrop", o.cap_drop}, {"SecurityOpt", o.security_opts},
            {"Tmpfs", o.tmpfs},      {"Ulimits", o.ulimits},
            {"Memory", 0},           {"NanoCpus", 0},
            {"PidsLimit", nullptr}};
  if (plan.spec.linux && plan.spec.linux->resources) {
    const oci::Resources& r = *plan.spec.linux->resources;
    if (r.memory_limit) h["Memory"] = *r.memory_limit;
    if (r.cpu_quota && r.cpu_period && *r.cpu_period > 0) {
      h["NanoCpus"] = *r.cpu_quota * 1000000000 / static_cast<int64_t>(*r.cpu_period);
    }
    if (r.pids_limit) h["PidsLimit"] = *r.pids_limit;
  }
  return h;
}

// Docker's Config.Entrypoint and Config.Cmd from the image and the flags.
void entrypointAndCmd(const oci::ContainerConfig& image, const RunOptions& o, ContainerRecord& r) {
  if (o.entrypoint) {
    r.entrypoint = o.entrypoint->empty() ? std::nullopt
                                         : std::optional(std::vector<std::string>{*o.entrypoint});
  } else {
    r.entrypoint = image.entrypoint;
  }
  if (!o.command.empty()) {
    r.cmd = o.command;
  } else if (!o.entrypoint) {
    r.cmd = image.cmd;
  }
}

void fillRecord(ContainerRecord& r, const ImageView& image, const RunOptions& o,
                const ContainerPlan& plan) {
  const oci::Process& p = *plan.spec.process;
  entrypointAndCmd(image.config.config, o, r);
  r.args = p.args;
  r.env = p.env;
  r.working_dir = p.cwd;
  r.user = o.user.empty() ? image.config.config.user : o.user;
  r.hostname = plan.hostname;
  r.tty = o.tty;
  r.open_stdin = o.interactive;
  r.labels = plan.labels;
  r.healthcheck = plan.healthcheck;
  r.stop_signal = plan.stop_signal.name;
  r.stop_timeout = plan.stop_timeout;
  r.host_config = hostConfig(o, plan);
  r.auto_remove = o.rm;
  for (const auto& v : plan.volumes) {
    if (v.anonymous) r.anonymous_volumes.push_back(v.name);
  }
  r.mounts = mountSummaries(plan);
}

Result<void> makeVolumes(const store::Store& store, const ContainerPlan& plan,
                         const fs::path& rootfs) {
  HULL_ASSIGN_OR_RETURN(VolumeStore volumes, VolumeStore::open(store.root()));
  for (const auto& v : plan.volumes) {
    std::map<std::string, std::string> labels;
    if (v.anonymous) labels[std::string(kAnonymousVolumeLabel)] = "";
    HULL_ASSIGN_OR_RETURN(VolumeInfo info, volumes.create(v.name, labels));
    if (!v.no_copy) HULL_TRY(copyUpVolume(rootfs, v.destination, info.mountpoint));
  }
  for (const auto& dir : plan.create_bind_sources) HULL_TRY(mkdirAll(dir));
  return {};
}

// GPUs and CDI devices: the edit is checked (the image's CUDA against the driver) and applied
// to the spec before anything of the container is made from it, so a refusal leaves nothing
// but what the caller undoes. Its env reaches the record, and with config.json `hull exec`.
Result<oci::SpecEdit> planDevices(const RunOptions& options, ContainerPlan& plan,
                                  const RootfsView& view) {
  GpuAsk ask = gpuAsk(options);
  if (!ask.any()) return oci::SpecEdit{};
  HULL_ASSIGN_OR_RETURN(oci::SpecEdit edit, planGpus(ask, plan.spec.process->env, view, GpuHost{}));
  oci::applySpecEdit(plan.spec, edit);
  return edit;
}

// Docker's Mounts[] lists what the user mounted; the driver files a device edit binds are not.
void dropDeviceMounts(ContainerRecord& record, const oci::SpecEdit& edit) {
  std::erase_if(record.mounts, [&](const MountSummary& m) {
    return std::any_of(edit.mounts.begin(), edit.mounts.end(),
                       [&](const oci::Mount& e) { return e.destination == m.destination; });
  });
}

// Everything from the container directory on; the caller removes it all on failure. spec_json
// gets config.json's text.
Result<ContainerPlan> buildContainer(const store::Store& store, const ImageView& image,
                                     const RunOptions& options, ContainerRecord& record,
                                     const Containers& containers, std::string& spec_json) {
  fs::path dir = containers.containerDir(record.id);
  HULL_ASSIGN_OR_RETURN(RootfsMount mount, prepareRootfs(store, image, dir, options.rm));
  HULL_ASSIGN_OR_RETURN(DirRootfsView view, DirRootfsView::open(mount.path()));
  HULL_ASSIGN_OR_RETURN(ContainerPlan plan, planContainer(image.config, options, view, record.id));
  HULL_ASSIGN_OR_RETURN(oci::SpecEdit devices, planDevices(options, plan, view));
  bindPlanPaths(plan, dir, store.root() / "volumes");
  plan.spec.process->terminal = options.tty;
  if (options.tty) plan.spec.process->console_size = terminalSize();
  // Volumes are recorded before they are made, so a failure half way removes them too.
  fillRecord(record, image, options, plan);
  dropDeviceMounts(record, devices);
  HULL_TRY(containers.save(record));
  HULL_TRY(makeVolumes(store, plan, mount.path()));
  // The etc files first: a file source gets a file as its mount target.
  HULL_TRY(writeEtcFiles(plan, dir));
  HULL_TRY(prepareMountTargets(mount.path(), plan));
  spec_json = oci::serialize(plan.spec);
  HULL_TRY(replaceFile(dir / "config.json", spec_json, 0600, !options.rm));
  mount.release();  // the container owns the mount now; destroyContainer unmounts it
  return plan;
}

Result<runtime::Runtime> openRuntime(const Containers& containers) {
  return runtime::Runtime::open(containers.runtimeRoot());
}

// The record of a container that has started: running, with init's pid and its monitor.
Result<ContainerRecord> markRunning(const Containers& containers, const std::string& id,
                                    pid_t pid) {
  return containers.update(id, [&](ContainerRecord& r) {
    r.status = ContainerStatus::kRunning;
    r.pid = pid;
    r.monitor_pid = ::getpid();
    r.started_at = nowRfc3339Nano();
    if (r.healthcheck) r.health = HealthState{};
  });
}

// After init exits: record the status and release what the container held; with --rm, remove
// it all instead (its status would be written only to be deleted).
Result<void> finishContainer(const Containers& containers, runtime::Runtime& runtime,
                             const ContainerRecord& record, int exit_code) {
  if (record.auto_remove) return destroyContainer(containers, record, true);  // removes it all
  const std::string& id = record.id;
  (void)runtime.remove(id, true);
  auto rootfs = cleanupRootfs(containers.containerDir(id));
  HULL_TRY(containers.update(id, [&](ContainerRecord& rec) {
    rec.status = ContainerStatus::kExited;
    rec.exit_code = exit_code;
    rec.pid = 0;
    rec.monitor_pid = 0;
    rec.finished_at = nowRfc3339Nano();
  }));
  return rootfs;
}

}  // namespace

Result<ImageView> localImage(const store::Store& store, std::string_view ref) {
  auto image = resolveImage(store, ref);
  if (!image && image.error().code == Errc::kNotFound) {
    return fail(Errc::kNotFound, fmt::format("image not found: {}", ref));
  }
  return image;
}

int exitStatusOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

Result<FdPipe> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failErrno("pipe");
  return FdPipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void closeInheritedFds() { (void)::close_range(3, ~0U, 0); }

void resetSignals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) (void)::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

int startErrorStatus(const Error& error) {
  std::string_view m = error.message;
  if (m.find("exec: \"") == std::string_view::npos) return 125;
  auto has = [&](std::string_view what) { return m.find(what) != std::string_view::npos; };
  if (error.code == Errc::kNotFound || has("not found") || has("No such file")) return 127;
  if (error.code == Errc::kPermission || has("ermission denied") || has("exec format")) return 126;
  return 125;
}

Result<PreparedContainer> prepareContainer(const store::Store& store, const RunOptions& options,
                                           const ImageSource& images) {
  ContainerRecord record;
  if (!options.name.empty()) {
    HULL_ASSIGN_OR_RETURN(record.name, validateContainerName(options.name));
  }
  // The shared store lock keeps prune away from the blobs and snapshots being unpacked.
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(ImageView image, images(store, options.image));
  HULL_ASSIGN_OR_RETURN(record.id, newContainerId());
  record.created = nowRfc3339Nano();
  record.image = options.image;
  record.image_id = image.id.str();
  record.auto_remove = options.rm;  // from the first save on: a --rm record is not flushed
  Containers containers(store.root());
  HULL_TRY(containers.create(record));
  ScopeExit undo([&] { (void)destroyContainer(containers, record, true); });
  std::string spec_json;
  HULL_ASSIGN_OR_RETURN(ContainerPlan plan,
                        buildContainer(store, image, options, record, containers, spec_json));
  undo.dismiss();
  return PreparedContainer{
      .record = std::move(record), .spec = std::move(plan.spec), .spec_json = std::move(spec_json)};
}

Result<void> destroyContainer(const Containers& containers, const ContainerRecord& record,
                              bool remove_volumes) {
  if (auto rt = openRuntime(containers)) (void)rt->remove(record.id, true);
  HULL_TRY(cleanupRootfs(containers.containerDir(record.id)));
  HULL_TRY(containers.removeDir(record.id));
  if (!remove_volumes || record.anonymous_volumes.empty()) return {};
  HULL_ASSIGN_OR_RETURN(VolumeStore volumes, VolumeStore::open(containers.dir().parent_path()));
  for (const auto& name : record.anonymous_volumes) (void)volumes.remove(name, true);
  return {};
}

namespace {

// Creates and starts the container with the given stdio; everything is undone on failure.
Result<runtime::Created> createAndStart(const Containers& containers, runtime::Runtime& rt,
                                        const PreparedContainer& p,
                                        const runtime::CreateOptions& options) {
  HULL_ASSIGN_OR_RETURN(
      runtime::Created created,
      rt.create(p.record.id, containers.containerDir(p.record.id), p.spec, options));
  return created;
}

}  // namespace

Result<int> runForeground(const store::Store& store, PreparedContainer p, bool interactive) {
  Containers containers(store.root());
  ScopeExit undo([&] { (void)destroyContainer(containers, p.record, true); });
  // Orphans of the container (and exec helpers) are reparented to us and reaped by the monitor.
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 1);
  HULL_ASSIGN_OR_RETURN(runtime::Runtime rt, openRuntime(containers));
  bool tty = p.record.tty;
  bool direct = p.record.auto_remove && !tty;  // --rm: no log, the container writes to our fds
  runtime::CreateOptions options;
  options.spec_json = p.spec_json;
  MonitorIo io;
  std::optional<FdPipe> out, err;
  options.stdio.in = interactive && !tty ? STDIN_FILENO : -1;
  if (direct) {
    options.stdio.out = STDOUT_FILENO;
    options.stdio.err = STDERR_FILENO;
  } else if (!tty) {
    HULL_ASSIGN_OR_RETURN(out, makePipe());
    HULL_ASSIGN_OR_RETURN(err, makePipe());
    options.stdio.out = out->write.get();
    options.stdio.err = err->write.get();
    io.out_pipe = std::move(out->read);
    io.err_pipe = std::move(err->read);
  }
  HULL_ASSIGN_OR_RETURN(runtime::Created created, createAndStart(containers, rt, p, options));
  out.reset();
  err.reset();
  io.pty_master = std::move(created.console_master);
  io.copy_out = STDOUT_FILENO;
  io.copy_err = STDERR_FILENO;
  io.stdin_src = tty && interactive ? STDIN_FILENO : -1;
  io.forward_signals = true;
  io.resize_pty = tty;
  if (!p.record.auto_remove) {
    HULL_ASSIGN_OR_RETURN(io.log, LogWriter::open(containers.logPath(p.record.id)));
  }
  HULL_ASSIGN_OR_RETURN(Monitor monitor, Monitor::create(containers, rt, p.record, *p.spec.process,
                                                         created.pid, std::move(io)));
  HULL_TRY(rt.start(p.record.id));
  // Recorded as running once it runs (Docker's order too): the record's write, with ext4's flush
  // on a rename over a file, overlaps the container's own start instead of delaying it.
  HULL_ASSIGN_OR_RETURN(p.record, markRunning(containers, p.record.id, created.pid));
  int status;
  {
    std::optional<RawTerminal> raw;
    if (tty && interactive) raw.emplace(STDIN_FILENO);
    HULL_ASSIGN_OR_RETURN(status, monitor.run());
  }
  undo.dismiss();
  int code = exitStatusOf(status);
  HULL_TRY(finishContainer(containers, rt, p.record, code));
  return code;
}

}  // namespace hull::engine
