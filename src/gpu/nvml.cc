// NVML and libcuda through dlopen: hull builds and runs on machines without the CUDA toolkit, so
// the few NVML types used here are declared by hand with the layout of the public nvml.h.
// NVML keeps global state, so each query initialises, reads and shuts down in one go.
#include "gpu/nvml.h"

#include <dlfcn.h>

#include <array>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "base/scope_exit.h"

namespace hull::gpu {
namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = struct NvmlDeviceOpaque*;
struct nvmlMemory_t {
  unsigned long long total, free, used;
};
struct nvmlPciInfo_t {  // nvmlPciInfo_v3_t
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr unsigned kNameSize = 96, kUuidSize = 96, kVersionSize = 80;  // the *_V2_BUFFER_SIZEs

// Brand enum values of nvmlBrandType_t (NVML_BRAND_UNKNOWN = 0 ... NVML_BRAND_TITAN_RTX = 16).
std::string brandName(int brand) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "unknown",   "quadro",      "tesla",     "nvs",        "grid",      "geforce",
      "titan",     "nvidiavapps", "nvidiavpc", "nvidiavcs",  "nvidiavws", "nvidiavgaming",
      "quadrortx", "nvidiartx",   "nvidia",    "geforcertx", "titanrtx"};
  if (brand < 0 || brand >= static_cast<int>(kNames.size())) return "unknown";
  return std::string(kNames[static_cast<size_t>(brand)]);
}

class Library {
 public:
  static Result<Library> open(const std::string& path) {
    dlerror();
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* why = dlerror();
      return fail(Errc::kNotFound, fmt::format("cannot load {}: {}", path, why ? why : "unknown"));
    }
    return Library(h, path);
  }
  Library(Library&& o) noexcept : h_(o.h_), path_(std::move(o.path_)) { o.h_ = nullptr; }
  Library& operator=(Library&&) = delete;
  ~Library() {
    if (h_ != nullptr) ::dlclose(h_);
  }
  template <class Fn>
  Result<Fn*> symbol(const char* name) const {
    void* p = ::dlsym(h_, name);
    if (p == nullptr) {
      return fail(Errc::kUnsupported, fmt::format("{} has no symbol {}", path_, name));
    }
    return reinterpret_cast<Fn*>(p);
  }

 private:
  Library(void* h, std::string path) : h_(h), path_(std::move(path)) {}
  void* h_;
  std::string path_;
};

struct Nvml {
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  Result<void> check(const char* function, nvmlReturn_t r) const {
    if (r == kNvmlSuccess) return {};
    const char* why = error_string ? error_string(r) : nullptr;
    return fail(Errc::kIo, fmt::format("{}: {} ({})", function, why ? why : "unknown error", r));
  }
};

#define HULL_NVML_SYM(lib, type, name) HULL_ASSIGN_OR_RETURN(auto name, (lib).symbol<type>(#name))

Result<NvmlGpu> readGpu(const Library& lib, const Nvml& nvml, unsigned index) {
  HULL_NVML_SYM(lib, nvmlReturn_t(unsigned, nvmlDevice_t*), nvmlDeviceGetHandleByIndex_v2);
  HULL_NVML_SYM(lib, nvmlReturn_t(nvmlDevice_t, char*, unsigned), nvmlDeviceGetName);
  HULL_NVML_SYM(lib, nvmlReturn_t(nvmlDevice_t, char*, unsigned), nvmlDeviceGetUUID);
  HULL_NVML_SYM(lib, nvmlReturn_t(nvmlDevice_t, unsigned*), nvmlDeviceGetMinorNumber);
  HULL_NVML_SYM(lib, nvmlReturn_t(nvmlDevice_t, nvmlMemory_t*), nvmlDeviceGetMemoryInfo);
  HULL_NVML_SYM(lib, nvmlReturn_t(nvmlDevice_t, int*, int*), nvmlDeviceGetCudaComputeCapability);
  HULL_NVML_SYM(lib, nvmlReturn_t(nvmlDevice_t, int*), nvmlDeviceGetBrand);
  nvmlDevice_t dev = nullptr;
  HULL_TRY(nvml.check("nvmlDeviceGetHandleByIndex_v2", nvmlDeviceGetHandleByIndex_v2(index, &dev)));
  NvmlGpu g;
  g.index = static_cast<int>(index);
  std::array<char, kNameSize> name{};
  HULL_TRY(nvml.check("nvmlDeviceGetName", nvmlDeviceGetName(dev, name.data(), kNameSize)));
  g.name = std::string(name.data(), strnlen(name.data(), name.size()));
  std::array<char, kUuidSize> uuid{};
  HULL_TRY(nvml.check("nvmlDeviceGetUUID", nvmlDeviceGetUUID(dev, uuid.data(), kUuidSize)));
  g.uuid = std::string(uuid.data(), strnlen(uuid.data(), uuid.size()));
  unsigned minor = 0;
  HULL_TRY(nvml.check("nvmlDeviceGetMinorNumber", nvmlDeviceGetMinorNumber(dev, &minor)));
  g.minor = static_cast<int>(minor);
  nvmlMemory_t mem{};
  HULL_TRY(nvml.check("nvmlDeviceGetMemoryInfo", nvmlDeviceGetMemoryInfo(dev, &mem)));
  g.memory_total = mem.total;
  int major = 0, cc_minor = 0;
  HULL_TRY(nvml.check("nvmlDeviceGetCudaComputeCapability",
                      nvmlDeviceGetCudaComputeCapability(dev, &major, &cc_minor)));
  g.compute_capability.parts = {static_cast<uint32_t>(major), static_cast<uint32_t>(cc_minor)};
  int brand = 0;
  HULL_TRY(nvml.check("nvmlDeviceGetBrand", nvmlDeviceGetBrand(dev, &brand)));
  g.brand = brandName(brand);
  // The PCI bus id is a nicety: older libraries lack the _v3 entry point.
  if (auto pci =
          lib.symbol<nvmlReturn_t(nvmlDevice_t, nvmlPciInfo_t*)>("nvmlDeviceGetPciInfo_v3")) {
    nvmlPciInfo_t info{};
    if ((*pci)(dev, &info) == kNvmlSuccess) {
      g.pci_bus_id = std::string(info.busId, strnlen(info.busId, sizeof info.busId));
    }
  }
  return g;
}

Result<NvmlInfo> readAll(const Library& lib, const Nvml& nvml) {
  HULL_NVML_SYM(lib, nvmlReturn_t(char*, unsigned), nvmlSystemGetDriverVersion);
  HULL_NVML_SYM(lib, nvmlReturn_t(int*), nvmlSystemGetCudaDriverVersion_v2);
  HULL_NVML_SYM(lib, nvmlReturn_t(unsigned*), nvmlDeviceGetCount_v2);
  NvmlInfo info;
  std::array<char, kVersionSize> version{};
  HULL_TRY(nvml.check("nvmlSystemGetDriverVersion",
                      nvmlSystemGetDriverVersion(version.data(), kVersionSize)));
  info.driver_version = std::string(version.data(), strnlen(version.data(), version.size()));
  int cuda = 0;
  HULL_TRY(
      nvml.check("nvmlSystemGetCudaDriverVersion_v2", nvmlSystemGetCudaDriverVersion_v2(&cuda)));
  info.cuda = cudaFromInt(cuda);
  unsigned count = 0;
  HULL_TRY(nvml.check("nvmlDeviceGetCount_v2", nvmlDeviceGetCount_v2(&count)));
  for (unsigned i = 0; i < count; i++) {
    HULL_ASSIGN_OR_RETURN(NvmlGpu g, readGpu(lib, nvml, i));
    info.gpus.push_back(std::move(g));
  }
  return info;
}

}  // namespace

Result<NvmlInfo> queryNvml(const std::string& library_path) {
  HULL_ASSIGN_OR_RETURN(Library lib, Library::open(library_path));
  Nvml nvml;
  HULL_ASSIGN_OR_RETURN(nvml.error_string,
                        lib.symbol<const char*(nvmlReturn_t)>("nvmlErrorString"));
  HULL_NVML_SYM(lib, nvmlReturn_t(), nvmlInit_v2);
  HULL_NVML_SYM(lib, nvmlReturn_t(), nvmlShutdown);
  HULL_TRY(nvml.check("nvmlInit_v2", nvmlInit_v2()));
  ScopeExit shutdown([&] { (void)nvmlShutdown(); });
  return readAll(lib, nvml);
}

Result<Version> queryLibcudaVersion(const std::string& library_path) {
  HULL_ASSIGN_OR_RETURN(Library lib, Library::open(library_path));
  HULL_NVML_SYM(lib, int(int*), cuDriverGetVersion);
  int version = 0;
  if (int r = cuDriverGetVersion(&version); r != 0) {
    return fail(Errc::kIo, fmt::format("cuDriverGetVersion: CUDA error {}", r));
  }
  if (version <= 0) {
    return fail(Errc::kIo, fmt::format("cuDriverGetVersion: implausible version {}", version));
  }
  return cudaFromInt(version);
}

#undef HULL_NVML_SYM

}  // namespace hull::gpu
