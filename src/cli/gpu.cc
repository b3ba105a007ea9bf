// hull gpu info | cdi generate | cdi list | check, and the hidden `hull gpu hook
// update-ldcache` that GPU containers run as a createContainer hook (docs/commands/gpu.md).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/image_commands.h"
#include "engine/gpu.h"
#include "gpu/hook.h"

namespace hull::cli {
namespace {

struct GpuFlags {
  std::string driver_root;
  std::string format = "table";
  std::string output;
  std::string image;
  std::vector<std::string> folders;
  std::string ldconfig;
  CLI::Option* format_opt = nullptr;
};

engine::GpuHost hostOf(const GpuFlags& f) {
  engine::GpuHost host;
  host.driver_root = f.driver_root;
  return host;
}

void addDriverRoot(CLI::App* cmd, GpuFlags& f) {
  cmd->add_option("--driver-root", f.driver_root,
                  "Where the NVIDIA driver is installed (default: $HULL_DRIVER_ROOT, else the "
                  "first of /, /run/nvidia/driver, /usr/local/nvidia that holds one)");
}

std::string gib(uint64_t bytes) {
  double g = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  return g >= 10 ? fmt::format("{:.0f} GiB", std::round(g)) : fmt::format("{:.1f} GiB", g);
}

std::string cudaText(const std::optional<gpu::Version>& cuda) {
  return cuda ? cuda->str() : std::string("unknown");
}

std::vector<std::string> cdiNames(const gpu::CdiSpec& spec) {
  std::vector<std::string> out;
  for (const auto& d : spec.devices) out.push_back(spec.kind + "=" + d.name);
  return out;
}

OrderedJson infoJson(const engine::GpuInfo& info) {
  OrderedJson j;
  j["driver"] = {{"version", info.driver.version.str()},
                 {"cuda", info.driver.cuda ? OrderedJson(info.driver.cuda->str()) : OrderedJson()},
                 {"root", info.driver.root}};
  OrderedJson gpus = OrderedJson::array();
  if (info.nvml) {
    for (const auto& g : info.nvml->gpus) {
      gpus.push_back({{"index", g.index},
                      {"name", g.name},
                      {"uuid", g.uuid},
                      {"pci_bus_id", g.pci_bus_id},
                      {"brand", g.brand},
                      {"memory_total_bytes", g.memory_total},
                      {"compute_capability", g.compute_capability.str()}});
    }
  } else {
    for (const auto& g : info.driver.gpus) {
      gpus.push_back(
          {{"index", g.index}, {"name", g.name}, {"uuid", g.uuid}, {"pci_bus_id", g.pci_bus_id}});
    }
  }
  j["gpus"] = std::move(gpus);
  j["nvml_error"] = info.nvml ? OrderedJson() : OrderedJson(info.nvml_error);
  OrderedJson specs = OrderedJson::array();
  for (const auto& s : info.cdi.specs) {
    specs.push_back(
        {{"file", s.file}, {"kind", s.kind}, {"cdi_version", s.version}, {"devices", cdiNames(s)}});
  }
  OrderedJson errors = OrderedJson::array();
  for (const auto& e : info.cdi.errors) errors.push_back(e.message);
  j["cdi"] = {{"dirs", info.cdi_dirs}, {"specs", std::move(specs)}, {"errors", std::move(errors)}};
  return j;
}

void printInfo(const engine::GpuInfo& info) {
  fmt::print("Driver: {} (CUDA {})\n", info.driver.version.str(), cudaText(info.driver.cuda));
  if (info.nvml) {
    for (const auto& g : info.nvml->gpus) {
      fmt::print("GPU {}: {}, {}, compute {}, {}\n", g.index, g.name, gib(g.memory_total),
                 g.compute_capability.str(), g.uuid);
    }
  } else {
    for (const auto& g : info.driver.gpus) fmt::print("GPU {}: {}, {}\n", g.index, g.name, g.uuid);
    fmt::print("NVML: {}\n", info.nvml_error);
  }
  if (info.driver.gpus.empty() && (!info.nvml || info.nvml->gpus.empty())) {
    fmt::print("GPUs: none\n");
  }
  if (info.cdi.specs.empty()) {
    fmt::print("CDI specs: none (in {})\n", fmt::join(info.cdi_dirs, ", "));
  } else {
    fmt::print("CDI specs:\n");
    for (const auto& s : info.cdi.specs) {
      fmt::print("  {}: {}\n", s.file, fmt::join(cdiNames(s), ", "));
    }
  }
  for (const auto& e : info.cdi.errors) fmt::print("CDI error: {}\n", e.message);
}

Result<int> runInfo(const GpuFlags& f) {
  if (f.format != "table" && f.format != "json") {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid --format \"{}\": expected table or json", f.format));
  }
  HULL_ASSIGN_OR_RETURN(engine::GpuInfo info, engine::gpuInfo(hostOf(f)));
  if (f.format == "json") {
    fmt::print("{}\n", infoJson(info).dump(2));
  } else {
    printInfo(info);
  }
  return 0;
}

Result<int> runGenerate(const GpuFlags& f) {
  std::string format = f.format;
  // -o x.json without --format: the file's extension says which.
  if (f.format_opt->count() == 0) {
    format = f.output.ends_with(".json") ? "json" : "yaml";
  }
  if (format != "yaml" && format != "json") {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid --format \"{}\": expected yaml or json", f.format));
  }
  HULL_ASSIGN_OR_RETURN(gpu::CdiSpec spec, engine::generateCdi(hostOf(f)));
  std::string text = format == "json" ? gpu::cdiSpecToJson(spec) : gpu::cdiSpecToYaml(spec);
  if (text.empty() || text.back() != '\n') text += '\n';
  if (f.output.empty() || f.output == "-") {
    fmt::print("{}", text);
    return 0;
  }
  fs::path out(f.output);
  if (out.has_parent_path()) HULL_TRY(mkdirAll(out.parent_path()));
  HULL_TRY(writeFileAtomic(out, text, 0644));
  return 0;
}

Result<int> runList() {
  gpu::CdiRegistry registry = gpu::loadCdiSpecs(gpu::defaultCdiSpecDirs());
  for (const auto& s : registry.specs) {
    for (const auto& name : cdiNames(s)) fmt::print("{}\n", name);
  }
  std::fflush(stdout);
  // A broken file is reported, not fatal: the devices of the other files are still usable.
  for (const auto& e : registry.errors) {
    std::fprintf(stderr, "hull: warning: %s\n", e.message.c_str());
  }
  return 0;
}

Result<int> runCheck(const Context& ctx, const GpuFlags& f) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(gpu::CompatReport report, engine::checkImageGpu(store, f.image, hostOf(f)));
  fmt::print("{}\n", report.message);
  return report.ok ? 0 : 1;
}

Result<std::string> readStdin() {
  std::string text;
  char buf[65536];
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(STDIN_FILENO, buf, sizeof buf));
    if (n == 0) return text;
    text.append(buf, n);
    if (text.size() > (16u << 20)) return fail(Errc::kInvalidArgument, "container state too large");
  }
}

Result<int> runHook(const GpuFlags& f) {
  HULL_ASSIGN_OR_RETURN(std::string state, readStdin());
  gpu::LdcacheHookOptions options{.folders = f.folders, .ldconfig = f.ldconfig};
  HULL_TRY(gpu::runLdcacheHook(options, state));
  return 0;
}

void registerCdi(CLI::App* gpu, Context& ctx) {
  auto* cdi = gpu->add_subcommand("cdi", "Container Device Interface specs for this host's GPUs");
  cdi->require_subcommand(1);
  auto f = std::make_shared<GpuFlags>();
  f->format = "yaml";
  auto* gen = cdi->add_subcommand("generate", "Write a CDI spec for this host's GPUs");
  gen->add_option("-o,--output", f->output, "Write to FILE (default: stdout)");
  f->format_opt = gen->add_option("--format", f->format,
                                  "yaml (default) or json; -o FILE.json alone means json");
  addDriverRoot(gen, *f);
  gen->callback([&ctx, f] { ctx.action = [f] { return runGenerate(*f); }; });
  auto* list = cdi->add_subcommand("list", "List the CDI device names found in the spec dirs");
  list->callback([&ctx] { ctx.action = [] { return runList(); }; });
}

void registerHook(CLI::App* gpu, Context& ctx) {
  auto* hook = gpu->add_subcommand("hook", "");
  hook->group("");  // run by the OCI runtime, not by users
  hook->require_subcommand(1);
  auto f = std::make_shared<GpuFlags>();
  auto* ld = hook->add_subcommand("update-ldcache", "Refresh the ld cache of a GPU container");
  ld->add_option("--folder", f->folders, "Library folder (container path)")
      ->allow_extra_args(false);
  ld->add_option("--ldconfig", f->ldconfig, "Host ldconfig to use when the image has none");
  addDriverRoot(ld, *f);
  ld->callback([&ctx, f] { ctx.action = [f] { return runHook(*f); }; });
}

}  // namespace

void registerGpu(CLI::App& app, Context& ctx) {
  auto* gpu = app.add_subcommand("gpu", "GPUs: driver info, CDI specs, image compatibility");
  gpu->require_subcommand(1);
  auto info = std::make_shared<GpuFlags>();
  auto* cmd = gpu->add_subcommand("info", "Show the NVIDIA driver, its GPUs and the CDI specs");
  cmd->add_option("--format", info->format, "table (default) or json");
  addDriverRoot(cmd, *info);
  cmd->callback([&ctx, info] { ctx.action = [info] { return runInfo(*info); }; });
  registerCdi(gpu, ctx);
  auto check = std::make_shared<GpuFlags>();
  cmd = gpu->add_subcommand("check", "Tell whether a local image's CUDA runs on this driver");
  cmd->add_option("IMAGE", check->image, "Image name, ID or digest")->required();
  addDriverRoot(cmd, *check);
  cmd->callback([&ctx, check] { ctx.action = [&ctx, check] { return runCheck(ctx, *check); }; });
  registerHook(gpu, ctx);
}

}  // namespace hull::cli
