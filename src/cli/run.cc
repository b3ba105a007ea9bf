// hull run, and the hidden `hull _supervise ID` that detached containers run under.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/container_run.h"
#include "engine/run_options.h"
#include "runtime/cgroup.h"
#include "store/store.h"

namespace hull::cli {
namespace {

// Presence of the flags whose absence means something (RunOptions keeps them as optionals).
struct OptionalFlags {
  std::string entrypoint;
  int64_t pids_limit = 0;
  int health_retries = 0;
  int stop_timeout = 0;
  CLI::Option* entrypoint_opt = nullptr;
  CLI::Option* pids_limit_opt = nullptr;
  CLI::Option* health_cmd_opt = nullptr;
  CLI::Option* health_retries_opt = nullptr;
  CLI::Option* stop_timeout_opt = nullptr;
  std::string health_cmd;
};

std::string selfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "/proc/self/exe" : p.string();
}

// The supervisor of a detached container: hull-supervise from hull's own directory, a small
// program (one runs per detached container), else hull itself, which takes the same arguments.
std::string supervisorExe() {
  std::string self = selfExe();
  fs::path small = fs::path(self).parent_path() / "hull-supervise";
  return ::access(small.c_str(), X_OK) == 0 ? small.string() : self;
}

Result<int> runContainer(const Context& ctx, engine::RunOptions o) {
  HULL_ASSIGN_OR_RETURN(store::Store store, store::Store::open(ctx.root));
  HULL_ASSIGN_OR_RETURN(engine::PreparedContainer prepared, engine::prepareContainer(store, o));
  if (o.detach) {
    // The supervisor starts through glibc's fork(), which other threads do not disturb.
    std::string id = prepared.record.id;
    HULL_TRY(engine::startDetached(store, prepared, supervisorExe()));
    fmt::print("{}\n", id);
    return 0;
  }
  return engine::runForeground(store, std::move(prepared), o.interactive);
}

void addMulti(CLI::App* cmd, const std::string& name, std::vector<std::string>& into,
              const std::string& help) {
  cmd->add_option(name, into, help)->allow_extra_args(false);
}

void addProcessFlags(CLI::App* cmd, engine::RunOptions& o, OptionalFlags& opt) {
  cmd->add_flag("-i,--interactive", o.interactive, "Keep stdin open (default: /dev/null)");
  cmd->add_flag("-t,--tty", o.tty, "Give the container a pseudo-terminal");
  addMulti(cmd, "-e,--env", o.env, "Set an environment variable (K=V; K alone takes the host's)");
  addMulti(cmd, "--env-file", o.env_files, "Read environment variables from a file");
  cmd->add_option("-w,--workdir", o.workdir, "Working directory inside the container");
  cmd->add_option("-u,--user", o.user, "User (name|uid[:group|gid])");
  opt.entrypoint_opt = cmd->add_option("--entrypoint", opt.entrypoint,
                                       "Replace the image's entrypoint (\"\" clears it)");
  cmd->add_option("-h,--hostname", o.hostname, "Hostname (default: the first 12 hex of the id)");
  cmd->add_flag("--init", o.init, "Run an init (tini) as PID 1 that reaps zombies");
  addMulti(cmd, "-l,--label", o.labels, "Set a label (K=V)");
  addMulti(cmd, "--label-file", o.label_files, "Read labels from a file");
  cmd->add_option("--stop-signal", o.stop_signal, "Signal that stops the container (SIGTERM)");
  opt.stop_timeout_opt = cmd->add_option("--stop-timeout", opt.stop_timeout,
                                         "Seconds to wait for a stop before SIGKILL (10)");
}

void addMountFlags(CLI::App* cmd, engine::RunOptions& o) {
  addMulti(cmd, "-v,--volume", o.volumes, "Bind a host path or volume (SRC:DST[:ro|rw])");
  addMulti(cmd, "--mount", o.mounts, "Mount (type=bind|volume|tmpfs,source=...,target=...)");
  addMulti(cmd, "--tmpfs", o.tmpfs, "Mount a tmpfs (DST[:opts])");
  cmd->add_flag("--read-only", o.read_only, "Mount the root file system read-only");
}

void addResourceFlags(CLI::App* cmd, engine::RunOptions& o, OptionalFlags& opt) {
  cmd->add_option("--shm-size", o.shm_size, "Size of /dev/shm (64m)");
  cmd->add_option("-m,--memory", o.memory, "Memory limit (512m, 1g, ...)");
  cmd->add_option("--cpus", o.cpus, "Number of CPUs (1.5)");
  opt.pids_limit_opt = cmd->add_option("--pids-limit", opt.pids_limit,
                                       "Maximum number of processes (-1: unlimited)");
  addMulti(cmd, "--ulimit", o.ulimits, "Resource limit (nofile=1024[:2048])");
  cmd->add_option("--network,--net", o.network,
                  "host (the default: hull has no networks of its own yet, so containers use the "
                  "host's network) or none (loopback only)");
  addMulti(cmd, "--cap-add", o.cap_add, "Add a capability (NET_ADMIN, ALL)");
  addMulti(cmd, "--cap-drop", o.cap_drop, "Drop a capability (CHOWN, ALL)");
  addMulti(cmd, "--security-opt", o.security_opts,
           "no-new-privileges[:true|false], seccomp=unconfined|FILE");
  cmd->add_option("--gpus", o.gpus,
                  "GPUs: all, a count, device=0,2 or device=GPU-UUID, and capabilities=... "
                  "(Docker's syntax; quote CSV values: '\"device=0,2\"')");
  addMulti(cmd, "--device", o.devices,
           "A host device (HOST[:CONTAINER][:rwm]) or a CDI device name (nvidia.com/gpu=0)");
}

void addHealthFlags(CLI::App* cmd, engine::RunOptions& o, OptionalFlags& opt) {
  opt.health_cmd_opt =
      cmd->add_option("--health-cmd", opt.health_cmd, "Command that checks health (a shell line)");
  cmd->add_option("--health-interval", o.health_interval, "Time between checks (30s)");
  cmd->add_option("--health-timeout", o.health_timeout, "Longest a check may run (30s)");
  cmd->add_option("--health-start-period", o.health_start_period,
                  "Time to start before failures count (0s)");
  cmd->add_option("--health-start-interval", o.health_start_interval,
                  "Time between checks during the start period (5s)");
  opt.health_retries_opt = cmd->add_option("--health-retries", opt.health_retries,
                                           "Consecutive failures that make it unhealthy (3)");
  cmd->add_flag("--no-healthcheck", o.no_healthcheck, "Disable the image's health check");
}

void applyOptionalFlags(engine::RunOptions& o, const OptionalFlags& opt) {
  if (opt.entrypoint_opt->count() > 0) o.entrypoint = opt.entrypoint;
  if (opt.pids_limit_opt->count() > 0) o.pids_limit = opt.pids_limit;
  if (opt.health_cmd_opt->count() > 0) o.health_cmd = opt.health_cmd;
  if (opt.health_retries_opt->count() > 0) o.health_retries = opt.health_retries;
  if (opt.stop_timeout_opt->count() > 0) o.stop_timeout = opt.stop_timeout;
}

}  // namespace

void registerRun(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<engine::RunOptions>();
  auto opt = std::make_shared<OptionalFlags>();
  auto* cmd = app.add_subcommand("run", "Run a command in a new container");
  cmd->set_help_flag("--help", "Print this help message and exit");  // -h is --hostname
  // Everything after IMAGE is the container's command, flags included ("sh -c ...").
  cmd->positionals_at_end();
  cmd->add_option("IMAGE", o->image, "Image name, ID or digest")->required();
  cmd->add_option("COMMAND", o->command, "Command and arguments (default: the image's)");
  cmd->add_flag("--rm", o->rm, "Remove the container (and its anonymous volumes) when it exits");
  cmd->add_flag("-d,--detach", o->detach, "Run in the background and print the container ID");
  cmd->add_option("--name", o->name, "Name of the container (default: a random one)");
  addProcessFlags(cmd, *o, *opt);
  addMountFlags(cmd, *o);
  addResourceFlags(cmd, *o, *opt);
  addHealthFlags(cmd, *o, *opt);
  cmd->callback([&ctx, o, opt] {
    applyOptionalFlags(*o, *opt);
    ctx.action = [&ctx, o]() -> Result<int> {
      engine::closeInheritedFds();
      engine::resetSignals();
      auto status = runContainer(ctx, *o);
      if (status) return status;
      // Errors before the container ran exit 125 as Docker's do, or 126/127 when the command
      // cannot be run; every other status is the container's own.
      std::fprintf(stderr, "hull: error: %s\n", status.error().message.c_str());
      return engine::startErrorStatus(status.error());
    };
  });

  // The supervisor of a detached container (container_supervisor.cc) when hull-supervise is
  // not installed next to hull; not for users.
  auto id = std::make_shared<std::string>();
  auto* sup = app.add_subcommand("_supervise", "");
  sup->group("");
  sup->add_option("ID", *id)->required();
  sup->callback([&ctx, id] {
    ctx.action = [&ctx, id]() -> Result<int> {
      engine::resetSignals();
      HULL_ASSIGN_OR_RETURN(store::Store store, store::Store::open(ctx.root));
      return engine::superviseContainer(store, *id, 3);
    };
  });
}

}  // namespace hull::cli
