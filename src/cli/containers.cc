// hull ps, logs, stop, kill, rm, exec, wait and `hull container inspect`.
#include <unistd.h>

#include <ctime>
#include <memory>

#include <fmt/format.h>

#include "cli/container_commands.h"
#include "cli/image_commands.h"
#include "engine/container_log.h"
#include "engine/container_run.h"
#include "engine/container_view.h"
#include "engine/containers.h"
#include "engine/format.h"

namespace hull::cli {
namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// Runs `op` for every argument, printing each failure and carrying on as Docker does.
template <class Op>
Result<int> forEach(const std::vector<std::string>& refs, Op op) {
  int status = 0;
  for (const auto& ref : refs) {
    auto r = op(ref);
    if (!r) {
      printError(r.error());
      status = 1;
    }
  }
  return status;
}

struct PsFlags {
  bool all = false;
  bool quiet = false;
  bool no_trunc = false;
  std::string format = "table";
};

Result<int> runPs(const Context& ctx, const PsFlags& f) {
  engine::Containers containers(ctx.root);
  HULL_ASSIGN_OR_RETURN(auto records, containers.list());
  std::vector<Json> rows;
  for (auto& r : records) {
    if (engine::reconcileStaleState(r)) (void)containers.save(r);
    if (!f.all && r.status != engine::ContainerStatus::kRunning) continue;
    Json row = engine::psRow(r, now());
    if (!f.no_trunc) row["ID"] = r.id.substr(0, 12);
    rows.push_back(std::move(row));
  }
  HULL_TRY(printRows(
      rows, f.quiet, f.format, {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"},
      [&f](const Json& row) {
        std::string command = row["Command"];
        if (!f.no_trunc) command = engine::ellipsis(command, 20);
        return std::vector<std::string>{row["ID"],         row["Image"],  "\"" + command + "\"",
                                        row["RunningFor"], row["Status"], row["Names"]};
      }));
  return 0;
}

void registerPs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<PsFlags>();
  auto* cmd = app.add_subcommand("ps", "List containers (running ones unless -a)");
  cmd->add_flag("-a,--all", f->all, "Show every container, not only running ones");
  cmd->add_flag("-q,--quiet", f->quiet, "Print container IDs only");
  cmd->add_flag("--no-trunc", f->no_trunc, "Do not shorten IDs and commands");
  cmd->add_option("--format", f->format,
                  "table (default), json (one object per line) or a Go template such as "
                  "'{{.Names}} {{.Status}}'");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runPs(ctx, *f); }; });
}

struct LogsFlags {
  std::string ref;
  bool follow = false;
  bool timestamps = false;
  std::string tail = "all";
};

Result<int> runLogs(const Context& ctx, const LogsFlags& f) {
  engine::Containers containers(ctx.root);
  HULL_ASSIGN_OR_RETURN(engine::ContainerRecord r, engine::loadContainer(containers, f.ref));
  engine::LogReadOptions options;
  if (f.tail != "all") {
    char* end = nullptr;
    long n = std::strtol(f.tail.c_str(), &end, 10);
    if (end == f.tail.c_str() || *end != '\0') {
      return fail(Errc::kInvalidArgument, "invalid --tail value \"" + f.tail + "\"");
    }
    if (n >= 0) options.tail = static_cast<std::size_t>(n);
  }
  options.timestamps = f.timestamps;
  options.follow = f.follow;
  std::string id = r.id;
  options.still_running = [&containers, id] {
    auto rec = containers.load(id);
    return rec && rec->status == engine::ContainerStatus::kRunning &&
           !engine::reconcileStaleState(*rec);
  };
  HULL_TRY(engine::readLogs(containers.logPath(r.id), options, STDOUT_FILENO, STDERR_FILENO));
  return 0;
}

void registerLogs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<LogsFlags>();
  auto* cmd = app.add_subcommand("logs", "Print a container's output (json-file log)");
  cmd->add_option("CONTAINER", f->ref, "Container name or ID")->required();
  cmd->add_flag("-f,--follow", f->follow, "Keep printing new output until the container exits");
  cmd->add_flag("-t,--timestamps", f->timestamps, "Prefix each line with its time");
  cmd->add_option("-n,--tail", f->tail, "Print only the last N lines (default: all)");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runLogs(ctx, *f); }; });
}

struct StopFlags {
  std::vector<std::string> refs;
  int timeout = 0;
  CLI::Option* timeout_opt = nullptr;
  std::string signal = "SIGKILL";
  bool force = false;
  bool volumes = false;
};

void registerStopKillRm(CLI::App& app, Context& ctx) {
  auto stop = std::make_shared<StopFlags>();
  auto* cmd = app.add_subcommand("stop", "Stop containers: stop signal, then SIGKILL");
  cmd->add_option("CONTAINER", stop->refs, "Container names or IDs")->required();
  stop->timeout_opt = cmd->add_option("-t,--time", stop->timeout,
                                      "Seconds to wait before SIGKILL (default: the container's "
                                      "stop timeout, 10)");
  cmd->callback([&ctx, stop] {
    ctx.action = [&ctx, stop]() -> Result<int> {
      HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
      std::optional<int> t;
      if (stop->timeout_opt->count() > 0) t = stop->timeout;
      return forEach(stop->refs, [&](const std::string& ref) -> Result<void> {
        HULL_TRY(engine::stopContainer(store, ref, t));
        fmt::print("{}\n", ref);
        return {};
      });
    };
  });

  auto kill = std::make_shared<StopFlags>();
  cmd = app.add_subcommand("kill", "Send a signal to running containers");
  cmd->add_option("CONTAINER", kill->refs, "Container names or IDs")->required();
  cmd->add_option("-s,--signal", kill->signal, "Signal (default SIGKILL)");
  cmd->callback([&ctx, kill] {
    ctx.action = [&ctx, kill]() -> Result<int> {
      HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
      return forEach(kill->refs, [&](const std::string& ref) -> Result<void> {
        HULL_TRY(engine::killContainer(store, ref, kill->signal));
        fmt::print("{}\n", ref);
        return {};
      });
    };
  });

  auto rm = std::make_shared<StopFlags>();
  cmd = app.add_subcommand("rm", "Remove containers");
  cmd->add_option("CONTAINER", rm->refs, "Container names or IDs")->required();
  cmd->add_flag("-f,--force", rm->force, "Kill a running container first");
  cmd->add_flag("-v,--volumes", rm->volumes, "Remove its anonymous volumes too");
  cmd->callback([&ctx, rm] {
    ctx.action = [&ctx, rm]() -> Result<int> {
      HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
      return forEach(rm->refs, [&](const std::string& ref) -> Result<void> {
        HULL_TRY(engine::removeContainer(store, ref, rm->force, rm->volumes));
        fmt::print("{}\n", ref);
        return {};
      });
    };
  });
}

void registerWait(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("wait", "Wait for containers to exit; print their exit codes");
  cmd->add_option("CONTAINER", *refs, "Container names or IDs")->required();
  cmd->callback([&ctx, refs] {
    ctx.action = [&ctx, refs]() -> Result<int> {
      HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
      return forEach(*refs, [&](const std::string& ref) -> Result<void> {
        HULL_ASSIGN_OR_RETURN(int code, engine::waitContainer(store, ref));
        fmt::print("{}\n", code);
        return {};
      });
    };
  });
}

void registerExec(CLI::App& app, Context& ctx) {
  auto req = std::make_shared<engine::ExecRequest>();
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("exec", "Run a command in a running container");
  cmd->set_help_flag("--help", "Print this help message and exit");
  cmd->positionals_at_end();
  cmd->add_option("CONTAINER", *ref, "Container name or ID")->required();
  cmd->add_option("COMMAND", req->command, "Command and arguments")->required();
  cmd->add_flag("-i,--interactive", req->interactive, "Keep stdin open");
  cmd->add_flag("-t,--tty", req->tty, "Give the process a pseudo-terminal");
  cmd->add_flag("-d,--detach", req->detach, "Start the process and return");
  cmd->add_option("-e,--env", req->env, "Set an environment variable")->allow_extra_args(false);
  cmd->add_option("-u,--user", req->user, "User (name|uid[:group|gid])");
  cmd->add_option("-w,--workdir", req->workdir, "Working directory inside the container");
  cmd->callback([&ctx, req, ref] {
    ctx.action = [&ctx, req, ref]() -> Result<int> {
      engine::closeInheritedFds();
      engine::resetSignals();
      HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
      auto status = engine::execInContainer(store, *ref, *req);
      if (status) return status;
      std::fprintf(stderr, "hull: error: %s\n", status.error().message.c_str());
      return engine::startErrorStatus(status.error());
    };
  });
}

Result<int> inspectContainers(const Context& ctx, const std::vector<std::string>& refs,
                              const std::string& format) {
  OrderedJson all = OrderedJson::array();
  int status = 0;
  for (const auto& ref : refs) {
    auto j = inspectContainerJson(ctx, ref);
    if (!j) {
      printError(j.error());
      status = 1;
      continue;
    }
    if (format == "json") {
      all.push_back(std::move(*j));
      continue;
    }
    HULL_ASSIGN_OR_RETURN(std::string line, engine::renderTemplate(format, Json::parse(j->dump())));
    fmt::print("{}\n", line);
  }
  if (format == "json") fmt::print("{}\n", all.dump(4));
  return status;
}

}  // namespace

Result<OrderedJson> inspectContainerJson(const Context& ctx, const std::string& ref) {
  engine::Containers containers(ctx.root);
  HULL_ASSIGN_OR_RETURN(engine::ContainerRecord r, engine::loadContainer(containers, ref));
  return engine::inspectContainer(r, containers.logPath(r.id).string());
}

void registerContainerCommands(CLI::App& app, Context& ctx) {
  registerPs(app, ctx);
  registerLogs(app, ctx);
  registerStopKillRm(app, ctx);
  registerWait(app, ctx);
  registerExec(app, ctx);
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("json");
  auto* group = app.add_subcommand("container", "Manage containers");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand("inspect", "Show details of containers as a JSON array");
  cmd->add_option("CONTAINER", *refs, "Container names or IDs")->required();
  cmd->add_option("-f,--format", *format, "json (default) or a Go template such as '{{.Id}}'");
  cmd->callback([&ctx, refs, format] {
    ctx.action = [&ctx, refs, format] { return inspectContainers(ctx, *refs, *format); };
  });
}

}  // namespace hull::cli
