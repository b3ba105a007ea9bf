// hull volume create | ls | inspect | rm | prune (docs/commands/volume.md).
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/image_commands.h"
#include "engine/format.h"
#include "engine/volumes.h"

namespace hull::cli {

namespace {

Result<engine::VolumeStore> openVolumes(const Context& ctx) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));  // makes the layout when new
  return engine::VolumeStore::open(store.root());
}

Result<std::map<std::string, std::string>> parseVolumeLabels(
    const std::vector<std::string>& items) {
  std::map<std::string, std::string> labels;
  for (const auto& item : items) {
    std::size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (key.empty()) {
      return fail(Errc::kInvalidArgument, fmt::format("invalid --label \"{}\": empty key", item));
    }
    labels[key] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
  return labels;
}

struct CreateFlags {
  std::string name;
  std::string driver = "local";
  std::vector<std::string> labels;
  std::vector<std::string> options;
};

Result<int> runCreate(const Context& ctx, const CreateFlags& f) {
  if (f.driver != "local") {
    return fail(Errc::kUnsupported,
                fmt::format("volume driver \"{}\": only the local driver exists", f.driver));
  }
  if (!f.options.empty()) {
    return fail(Errc::kUnsupported, "volume driver options (-o) are not supported yet");
  }
  HULL_ASSIGN_OR_RETURN(auto labels, parseVolumeLabels(f.labels));
  HULL_ASSIGN_OR_RETURN(engine::VolumeStore volumes, openVolumes(ctx));
  HULL_ASSIGN_OR_RETURN(engine::VolumeInfo v, volumes.create(f.name, labels));
  fmt::print("{}\n", v.name);
  return 0;
}

struct LsFlags {
  bool quiet = false;
  std::string format = "table";
  std::vector<std::string> filters;
};

// Docker's volume filters: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE], driver=NAME.
Result<bool> matches(engine::VolumeStore& volumes, const engine::VolumeInfo& v,
                     const std::vector<std::string>& filters) {
  for (const auto& filter : filters) {
    std::size_t eq = filter.find('=');
    std::string key = filter.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : filter.substr(eq + 1);
    if (key == "dangling") {
      if (value != "true" && value != "false" && value != "1" && value != "0") {
        return fail(Errc::kInvalidArgument,
                    fmt::format("invalid filter \"dangling={}\": want true or false", value));
      }
      HULL_ASSIGN_OR_RETURN(auto users, volumes.users(v.name));
      if (users.empty() != (value == "true" || value == "1")) return false;
    } else if (key == "name") {
      if (v.name.find(value) == std::string::npos) return false;
    } else if (key == "driver") {
      if (v.driver != value) return false;
    } else if (key == "label") {
      std::size_t veq = value.find('=');
      auto it = v.labels.find(value.substr(0, veq));
      if (it == v.labels.end()) return false;
      if (veq != std::string::npos && it->second != value.substr(veq + 1)) return false;
    } else {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid filter \"{}\": known filters are dangling, name, label, "
                              "driver",
                              key));
    }
  }
  return true;
}

Result<int> runLs(const Context& ctx, const LsFlags& f) {
  HULL_ASSIGN_OR_RETURN(engine::VolumeStore volumes, openVolumes(ctx));
  HULL_ASSIGN_OR_RETURN(auto all, volumes.list());
  std::vector<Json> rows;
  for (const auto& v : all) {
    HULL_ASSIGN_OR_RETURN(bool keep, matches(volumes, v, f.filters));
    if (!keep) continue;
    std::string labels;
    for (const auto& [k, val] : v.labels) labels += (labels.empty() ? "" : ",") + k + "=" + val;
    rows.push_back({{"ID", v.name},
                    {"Name", v.name},
                    {"Driver", v.driver},
                    {"Labels", labels},
                    {"Mountpoint", v.mountpoint},
                    {"Scope", v.scope},
                    {"Size", "N/A"},
                    {"Links", "N/A"}});
  }
  HULL_TRY(printRows(rows, f.quiet, f.format, {"DRIVER", "VOLUME NAME"}, [](const Json& row) {
    return std::vector<std::string>{row["Driver"], row["Name"]};
  }));
  return 0;
}

struct VolumeInspectFlags {
  std::vector<std::string> names;
  std::string format = "json";
};

Result<int> runVolumeInspect(const Context& ctx, const VolumeInspectFlags& f) {
  HULL_ASSIGN_OR_RETURN(engine::VolumeStore volumes, openVolumes(ctx));
  OrderedJson all = OrderedJson::array();
  int status = 0;
  for (const auto& name : f.names) {
    auto v = volumes.inspect(name);
    if (!v) {
      printError(v.error());
      status = 1;
      continue;
    }
    OrderedJson j = engine::toJson(*v);
    if (f.format != "json") {
      HULL_ASSIGN_OR_RETURN(std::string line,
                            engine::renderTemplate(f.format, Json::parse(j.dump())));
      fmt::print("{}\n", line);
    }
    all.push_back(std::move(j));
  }
  if (f.format == "json") fmt::print("{}\n", all.dump(4));
  return status;
}

struct RmFlags {
  std::vector<std::string> names;
  bool force = false;
};

Result<int> runRm(const Context& ctx, const RmFlags& f) {
  HULL_ASSIGN_OR_RETURN(engine::VolumeStore volumes, openVolumes(ctx));
  int status = 0;
  for (const auto& name : f.names) {
    auto r = volumes.remove(name, f.force);
    if (!r) {
      printError(r.error());
      status = 1;
      continue;
    }
    fmt::print("{}\n", name);
  }
  return status;
}

struct VolumePruneFlags {
  bool all = false;
  bool force = false;  // accepted for Docker compatibility: hull never prompts
};

Result<int> runVolumePrune(const Context& ctx, const VolumePruneFlags& f) {
  HULL_ASSIGN_OR_RETURN(engine::VolumeStore volumes, openVolumes(ctx));
  HULL_ASSIGN_OR_RETURN(auto removed, volumes.prune(f.all));
  if (!removed.empty()) {
    fmt::print("Deleted Volumes:\n");
    for (const auto& name : removed) fmt::print("{}\n", name);
    fmt::print("\n");
  }
  return 0;
}

void registerCreate(CLI::App& volume, Context& ctx) {
  auto f = std::make_shared<CreateFlags>();
  auto* cmd = volume.add_subcommand("create", "Create a volume (an existing one is kept)");
  cmd->add_option("NAME", f->name, "Volume name; a random 64-hex name when omitted");
  cmd->add_option("-d,--driver", f->driver, "Volume driver (only \"local\")");
  cmd->add_option("--label", f->labels, "Set a label, KEY=VALUE")->allow_extra_args(false);
  cmd->add_option("-o,--opt", f->options, "Driver options (none supported)")
      ->allow_extra_args(false);
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runCreate(ctx, *f); }; });
}

void registerLs(CLI::App& volume, Context& ctx) {
  auto f = std::make_shared<LsFlags>();
  auto* cmd = volume.add_subcommand("ls", "List volumes");
  cmd->alias("list");
  cmd->add_flag("-q,--quiet", f->quiet, "Print volume names only");
  cmd->add_option("--format", f->format,
                  "Output: table (default), json (one object per line) or a Go template such as "
                  "'{{.Name}}'");
  cmd->add_option("-f,--filter", f->filters,
                  "Filter: dangling=true|false, name=TEXT, label=KEY[=VALUE], driver=local")
      ->allow_extra_args(false);
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runLs(ctx, *f); }; });
}

void registerVolumeInspect(CLI::App& volume, Context& ctx) {
  auto f = std::make_shared<VolumeInspectFlags>();
  auto* cmd = volume.add_subcommand("inspect", "Show volumes as JSON");
  cmd->add_option("VOLUME", f->names, "Volume names")->required();
  cmd->add_option("-f,--format", f->format,
                  "json (default) or a Go template such as '{{.Mountpoint}}'");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runVolumeInspect(ctx, *f); }; });
}

void registerVolumeRm(CLI::App& volume, Context& ctx) {
  auto f = std::make_shared<RmFlags>();
  auto* cmd = volume.add_subcommand("rm", "Remove volumes that no container uses");
  cmd->alias("remove");
  cmd->add_option("VOLUME", f->names, "Volume names")->required();
  cmd->add_flag("-f,--force", f->force,
                "Do not fail on a missing volume (a volume in use is still refused)");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runRm(ctx, *f); }; });
}

void registerVolumePrune(CLI::App& volume, Context& ctx) {
  auto f = std::make_shared<VolumePruneFlags>();
  auto* cmd =
      volume.add_subcommand("prune", "Remove unused anonymous volumes (all unused with -a)");
  cmd->add_flag("-a,--all", f->all, "Remove every unused volume, named ones included");
  cmd->add_flag("-f,--force", f->force, "Do not prompt (hull never prompts)");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runVolumePrune(ctx, *f); }; });
}

}  // namespace

void registerVolume(CLI::App& app, Context& ctx) {
  auto* volume = app.add_subcommand("volume", "Manage named volumes");
  volume->require_subcommand(1);
  registerCreate(*volume, ctx);
  registerLs(*volume, ctx);
  registerVolumeInspect(*volume, ctx);
  registerVolumeRm(*volume, ctx);
  registerVolumePrune(*volume, ctx);
}

}  // namespace hull::cli
