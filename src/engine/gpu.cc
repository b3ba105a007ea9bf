// GPUs for containers: `--gpus` and CDI names -> one oci::SpecEdit, refused before anything is
// created when the image's CUDA cannot run on this driver; and the data behind `hull gpu`.
#include "engine/gpu.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "engine/container_run.h"
#include "engine/rootfs.h"
#include "gpu/inject.h"
#include "gpu/require.h"
#include "gpu/select.h"

namespace hull::engine {
namespace {

constexpr std::string_view kNvmlSoname = "libnvidia-ml.so.1";
constexpr std::string_view kGpuKind = "nvidia.com/gpu";

Result<gpu::Driver> discover(const GpuHost& host, bool query_libcuda) {
  gpu::DiscoverOptions options;
  options.driver_root = host.driver_root;  // empty: the module reads HULL_DRIVER_ROOT
  options.query_libcuda = query_libcuda;
  return gpu::discoverDriver(options);
}

// The hull executable the ld cache hook runs as: the runtime execs it from the host, so it
// must be an absolute path that stays valid while the container lives.
Result<std::string> hookBinary(const GpuHost& host) {
  if (!host.hook_binary.empty()) return host.hook_binary;
  std::unique_ptr<char, void (*)(void*)> path(::realpath("/proc/self/exe", nullptr), &::free);
  if (!path) return failErrno("resolve /proc/self/exe (the GPU ld cache hook)");
  // hull-gpu-hook next to hull starts in a third of the time hull does (fewer libraries).
  fs::path dedicated = fs::path(path.get()).parent_path() / "hull-gpu-hook";
  if (::access(dedicated.c_str(), X_OK) == 0) return dedicated.string();
  return std::string(path.get());
}

std::optional<std::string> libraryPath(const gpu::Driver& driver, std::string_view soname) {
  for (const auto& lib : driver.libraries) {
    if (lib.soname == soname) return lib.host_path;
  }
  return std::nullopt;
}

Result<gpu::NvmlInfo> queryDriverNvml(const gpu::Driver& driver) {
  auto lib = libraryPath(driver, kNvmlSoname);
  if (!lib) {
    return fail(Errc::kNotFound,
                fmt::format("{} not found under the driver root {}", kNvmlSoname, driver.root));
  }
  return gpu::queryNvml(*lib);
}

// Compute capability and brand of the chosen GPUs (indices into driver.gpus), from NVML:
// only asked for when an image requires arch or brand.
Result<std::vector<gpu::GpuFacts>> gpuFacts(const gpu::Driver& driver,
                                            const std::vector<int>& indices) {
  auto nvml = queryDriverNvml(driver);
  if (!nvml) {
    return fail(
        nvml.error().wrap("the image's NVIDIA_REQUIRE_* names arch or brand, which "
                          "needs NVML"));
  }
  std::vector<gpu::GpuFacts> facts;
  for (int index : indices) {
    const gpu::Gpu* g = index >= 0 && static_cast<std::size_t>(index) < driver.gpus.size()
                            ? &driver.gpus[static_cast<std::size_t>(index)]
                            : nullptr;
    auto same = [&](const gpu::NvmlGpu& n) {
      return g != nullptr && !g->uuid.empty() ? n.uuid == g->uuid : n.index == index;
    };
    auto it = std::find_if(nvml->gpus.begin(), nvml->gpus.end(), same);
    if (it == nvml->gpus.end()) {
      return fail(Errc::kNotFound, fmt::format("NVML does not list GPU {}", index));
    }
    facts.push_back(gpu::GpuFacts{.arch = it->compute_capability, .brand = it->brand});
  }
  return facts;
}

std::vector<int> allGpus(const gpu::Driver& driver) {
  std::vector<int> out;
  for (std::size_t i = 0; i < driver.gpus.size(); ++i) out.push_back(static_cast<int>(i));
  return out;
}

// The compat libraries the image carries, when this driver can use them.
Result<std::optional<gpu::CompatLibs>> imageCompat(const RootfsView& rootfs,
                                                   const gpu::Version& driver) {
  HULL_ASSIGN_OR_RETURN(auto names, rootfs.listDir(gpu::kCompatDir));
  if (!names) return std::optional<gpu::CompatLibs>();
  return gpu::usableCompatLibs(*names, driver);
}

// The compatibility report for `env` (image env + flags) on this driver and these GPUs.
Result<gpu::CompatReport> compatReport(const gpu::Driver& driver, const std::vector<int>& gpus,
                                       const std::vector<std::string>& env,
                                       const std::optional<gpu::CompatLibs>& compat) {
  HULL_ASSIGN_OR_RETURN(gpu::Requirements requirements, gpu::requirementsFromEnv(env));
  gpu::HostFacts facts{.driver = driver.version,
                       .cuda = driver.cuda.value_or(gpu::Version{.parts = {0}}),
                       .gpus = {}};
  if (!requirements.disabled && gpu::needsGpuFacts(requirements)) {
    HULL_ASSIGN_OR_RETURN(facts.gpus, gpuFacts(driver, gpus));
  }
  return gpu::checkCompatibility(env, facts, compat);
}

// Refuses, with the report's one line, what this driver cannot run; returns the compat
// libraries to inject first.
Result<std::optional<gpu::CompatLibs>> requireCompatible(const gpu::Driver& driver,
                                                         const std::vector<int>& gpus,
                                                         const std::vector<std::string>& env,
                                                         const RootfsView& rootfs) {
  HULL_ASSIGN_OR_RETURN(auto compat, imageCompat(rootfs, driver.version));
  HULL_ASSIGN_OR_RETURN(gpu::CompatReport report, compatReport(driver, gpus, env, compat));
  if (!report.ok) return fail(Errc::kInvalidArgument, report.message);
  return report.compat;
}

// Errors of the --gpus value name the flag once.
Error gpusFlagError(std::string_view value, const Error& e) {
  // Those naming the flag already, or the image's NVIDIA_* variables (not the flag's fault).
  if (e.message.starts_with("--gpus") || e.message.starts_with("invalid --gpus") ||
      e.message.starts_with("NVIDIA_")) {
    return e;
  }
  return Error{.code = e.code,
               .message = fmt::format("invalid --gpus \"{}\": {}", value, e.message)};
}

Result<oci::SpecEdit> planGpusFlag(std::string_view value, const std::vector<std::string>& env,
                                   const RootfsView& rootfs, const GpuHost& host) {
  auto request = gpu::parseGpusFlag(value);
  if (!request) return fail(gpusFlagError(value, request.error()));
  HULL_ASSIGN_OR_RETURN(gpu::Driver driver, discover(host, false));
  auto selection = gpu::selectGpus(driver, *request, env);
  if (!selection) return fail(gpusFlagError(value, selection.error()));
  gpu::InjectOptions inject;
  if (selection->inject_driver) {
    HULL_ASSIGN_OR_RETURN(inject.compat, requireCompatible(driver, selection->gpus, env, rootfs));
  }
  HULL_ASSIGN_OR_RETURN(inject.hook_binary, hookBinary(host));
  return gpu::gpuSpecEdit(driver, *selection, inject);
}

// The GPUs a CDI name of kind nvidia.com/gpu stands for ("0", a UUID, "all").
std::vector<int> gpusOfCdiName(const gpu::Driver& driver, std::string_view name) {
  if (name == "all") return allGpus(driver);
  for (std::size_t i = 0; i < driver.gpus.size(); ++i) {
    if (driver.gpus[i].uuid == name || std::to_string(driver.gpus[i].index) == name) {
      return {static_cast<int>(i)};
    }
  }
  return {};
}

Result<oci::SpecEdit> planCdiDevices(const std::vector<std::string>& names,
                                     const std::vector<std::string>& env, const RootfsView& rootfs,
                                     const GpuHost& host) {
  auto dirs = host.cdi_dirs.empty() ? gpu::defaultCdiSpecDirs() : host.cdi_dirs;
  gpu::CdiRegistry registry = gpu::loadCdiSpecs(dirs);
  HULL_ASSIGN_OR_RETURN(oci::SpecEdit edit, gpu::resolveCdiDevices(registry, names));
  std::vector<std::string_view> gpu_names;
  for (std::string_view n : names) {
    if (n.starts_with(kGpuKind) && n.substr(kGpuKind.size(), 1) == "=") {
      gpu_names.push_back(n.substr(kGpuKind.size() + 1));
    }
  }
  if (gpu_names.empty()) return edit;
  // A CDI spec may have been written for a driver hull cannot see from here (another root):
  // then there is nothing to check against.
  auto driver = discover(host, false);
  if (!driver) return edit;
  std::vector<int> gpus;
  for (std::string_view n : gpu_names) {
    for (int g : gpusOfCdiName(*driver, n)) gpus.push_back(g);
  }
  HULL_ASSIGN_OR_RETURN(auto compat, requireCompatible(*driver, gpus, env, rootfs));
  if (compat) {
    // The check counted the image's compat libraries: they must also come first in the ld
    // cache, which the spec's own hook does not know of. This hook runs after it.
    std::vector<std::string> folders = {compat->dir};
    for (const auto& dir : driver->library_dirs()) folders.push_back(dir);
    HULL_ASSIGN_OR_RETURN(std::string hook, hookBinary(host));
    std::vector<std::string> args = gpu::ldcacheHookArgs(hook, folders);
    edit.hooks.create_container.push_back(
        oci::Hook{.path = hook, .args = args, .env = {}, .timeout = {}});
  }
  return edit;
}

}  // namespace

GpuAsk gpuAsk(const RunOptions& options) {
  GpuAsk ask;
  ask.gpus = options.gpus;
  for (const auto& d : options.devices) {
    if (gpu::isCdiDeviceName(d)) ask.cdi_devices.push_back(d);
  }
  return ask;
}

Result<oci::SpecEdit> planGpus(const GpuAsk& ask, const std::vector<std::string>& env,
                               const RootfsView& rootfs, const GpuHost& host) {
  oci::SpecEdit edit;
  if (!ask.gpus.empty()) {
    HULL_ASSIGN_OR_RETURN(edit, planGpusFlag(ask.gpus, env, rootfs, host));
  }
  if (!ask.cdi_devices.empty()) {
    HULL_ASSIGN_OR_RETURN(oci::SpecEdit cdi, planCdiDevices(ask.cdi_devices, env, rootfs, host));
    oci::mergeSpecEdit(edit, cdi);
  }
  return edit;
}

Result<GpuInfo> gpuInfo(const GpuHost& host) {
  GpuInfo info;
  HULL_ASSIGN_OR_RETURN(info.driver, discover(host, true));
  auto nvml = queryDriverNvml(info.driver);
  if (nvml) {
    info.nvml = std::move(*nvml);
  } else {
    info.nvml_error = nvml.error().message;
  }
  info.cdi_dirs = host.cdi_dirs.empty() ? gpu::defaultCdiSpecDirs() : host.cdi_dirs;
  info.cdi = gpu::loadCdiSpecs(info.cdi_dirs);
  return info;
}

Result<gpu::CompatReport> checkImageGpu(const store::Store& store, std::string_view image,
                                        const GpuHost& host) {
  std::vector<fs::path> layers;
  ImageView view;
  {
    // The shared store lock keeps prune away from the snapshots while they are unpacked.
    HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
    HULL_ASSIGN_OR_RETURN(view, localImage(store, image));
    HULL_ASSIGN_OR_RETURN(layers, ensureSnapshots(store, view));
  }
  HULL_ASSIGN_OR_RETURN(gpu::Driver driver, discover(host, false));
  // The compat directory of the topmost layer that has one: what the container would see
  // (a lower layer's files under a directory an upper layer replaced are not looked at).
  std::optional<gpu::CompatLibs> compat;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    HULL_ASSIGN_OR_RETURN(DirRootfsView layer, DirRootfsView::open(*it));
    HULL_ASSIGN_OR_RETURN(auto names, layer.listDir(gpu::kCompatDir));
    if (!names) continue;
    compat = gpu::usableCompatLibs(*names, driver.version);
    break;
  }
  return compatReport(driver, allGpus(driver), view.config.config.env, compat);
}

Result<gpu::CdiSpec> generateCdi(const GpuHost& host) {
  HULL_ASSIGN_OR_RETURN(gpu::Driver driver, discover(host, false));
  HULL_ASSIGN_OR_RETURN(std::string hook, hookBinary(host));
  return gpu::generateCdiSpec(driver, hook);
}

}  // namespace hull::engine
