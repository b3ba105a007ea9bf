// Driver discovery: pick the driver root, read the version and GPUs from /proc/driver/nvidia,
// then collect nodes and files (driver_files.cc).
#include "gpu/driver.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "base/fs.h"
#include "gpu/cuda_table.h"
#include "gpu/driver_files.h"
#include "gpu/nvml.h"

namespace hull::gpu {
namespace {

constexpr std::array<std::pair<Capability, std::string_view>, 7> kCapabilityNames = {{
    {Capability::kCompute, "compute"},
    {Capability::kUtility, "utility"},
    {Capability::kVideo, "video"},
    {Capability::kGraphics, "graphics"},
    {Capability::kDisplay, "display"},
    {Capability::kCompat32, "compat32"},
    {Capability::kNgx, "ngx"},
}};

constexpr std::array<std::string_view, 3> kCandidateRoots = {"/", "/run/nvidia/driver",
                                                             "/usr/local/nvidia"};

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string under(const std::string& root, std::string_view rel) {
  std::string r = root;
  while (!r.empty() && r.back() == '/') r.pop_back();
  return fmt::format("{}/{}", r, rel);
}

// A root holds a driver when its /proc says so (a fake root) or it has the driver's libraries.
bool holdsDriver(const std::string& root) {
  if (exists(under(root, "proc/driver/nvidia/version"))) return true;
  for (const std::string& dir : detail::libraryDirs()) {
    if (exists(under(root, fmt::format("{}/libcuda.so.1", dir))) ||
        exists(under(root, fmt::format("{}/libnvidia-ml.so.1", dir)))) {
      return true;
    }
  }
  return false;
}

Result<std::string> chooseRoot(const DiscoverOptions& options) {
  std::vector<std::string> looked;
  if (!options.driver_root.empty()) {
    looked.push_back(options.driver_root);
  } else if (const char* env = std::getenv("HULL_DRIVER_ROOT"); env != nullptr && *env != '\0') {
    looked.emplace_back(env);
  } else {
    looked.assign(kCandidateRoots.begin(), kCandidateRoots.end());
  }
  for (const std::string& root : looked) {
    if (holdsDriver(root)) return root;
  }
  std::string list;
  for (const std::string& root : looked) list += (list.empty() ? "" : ", ") + root;
  return fail(Errc::kNotFound,
              fmt::format("no NVIDIA driver found: looked in {} (set --driver-root or "
                          "HULL_DRIVER_ROOT)",
                          list));
}

Result<Version> readVersion(const detail::Root& root, const std::string& proc_root) {
  std::string path = under(proc_root, "driver/nvidia/version");
  if (exists(path)) {
    HULL_ASSIGN_OR_RETURN(std::string text, readFile(path, 1u << 20));
    auto v = parseProcDriverVersion(text);
    if (!v) return fail(std::move(v).error().wrap(path));
    return v;
  }
  // No kernel module loaded here (a driver root copied off a host): libcuda.so.1's target.
  if (auto suffix = detail::versionFromLibraries(root)) return parseVersion(*suffix);
  return fail(Errc::kNotFound, fmt::format("no NVIDIA driver found: {} does not exist and no "
                                           "libcuda.so.1 names a version",
                                           path));
}

Result<std::vector<Gpu>> readGpus(const std::string& proc_root, const std::string& dev_root) {
  std::vector<Gpu> gpus;
  std::error_code ec;
  fs::path dir = under(proc_root, "driver/nvidia/gpus");
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    fs::path info_path = entry.path() / "information";
    if (!exists(info_path.string())) continue;
    HULL_ASSIGN_OR_RETURN(std::string text, readFile(info_path, 1u << 20));
    auto info = parseGpuInformation(text);
    if (!info) return fail(std::move(info).error().wrap(info_path.string()));
    if (info->excluded) continue;
    if (info->minor < 0) {
      return fail(Errc::kInvalidArgument, fmt::format("{}: no Device Minor", info_path.string()));
    }
    Gpu g;
    g.minor = info->minor;
    g.uuid = info->uuid;
    g.name = info->model;
    g.pci_bus_id =
        info->bus_location.empty() ? entry.path().filename().string() : info->bus_location;
    std::transform(g.pci_bus_id.begin(), g.pci_bus_id.end(), g.pci_bus_id.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    g.node = detail::gpuNode(dev_root, g.minor);
    gpus.push_back(std::move(g));
  }
  // nvidia-smi and CUDA (CUDA_DEVICE_ORDER=PCI_BUS_ID) number GPUs by bus id.
  std::sort(gpus.begin(), gpus.end(),
            [](const Gpu& a, const Gpu& b) { return a.pci_bus_id < b.pci_bus_id; });
  for (size_t i = 0; i < gpus.size(); i++) gpus[i].index = static_cast<int>(i);
  return gpus;
}

std::optional<Version> findCuda(const Driver& d, bool query_libcuda) {
  std::optional<Version> cuda = cudaForDriver(d.version);
  if (cuda && !query_libcuda) return cuda;
  for (const DriverFile& lib : d.libraries) {
    if (lib.capability != Capability::kCompute || lib.soname != "libcuda.so.1") continue;
    if (auto v = queryLibcudaVersion(lib.host_path)) return *v;
  }
  return cuda;
}

}  // namespace

std::string_view capabilityName(Capability c) {
  for (const auto& [cap, name] : kCapabilityNames) {
    if (cap == c) return name;
  }
  return "unknown";
}

Result<std::set<Capability>> parseCapabilities(std::string_view list) {
  std::set<Capability> caps;
  list = trim(list);
  if (list.empty()) return std::set<Capability>{Capability::kUtility, Capability::kCompute};
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    if (item == "all") {
      for (const auto& [cap, name] : kCapabilityNames) caps.insert(cap);
      continue;
    }
    auto it = std::find_if(kCapabilityNames.begin(), kCapabilityNames.end(),
                           [&](const auto& p) { return p.second == item; });
    if (it == kCapabilityNames.end()) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("unknown driver capability \"{}\" (known: compute, utility, video, "
                              "graphics, display, compat32, ngx, all)",
                              item));
    }
    caps.insert(it->first);
  }
  return caps;
}

std::string capabilitiesString(const std::set<Capability>& caps) {
  std::string out;
  for (Capability c : caps) out += fmt::format("{}{}", out.empty() ? "" : ",", capabilityName(c));
  return out;
}

std::vector<std::string> Driver::library_dirs() const {
  std::vector<std::string> dirs;
  for (const DriverFile& lib : libraries) {
    std::string dir = fs::path(lib.container_path).parent_path().string();
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  return dirs;
}

Result<Driver> discoverDriver(const DiscoverOptions& options) {
  HULL_ASSIGN_OR_RETURN(std::string root_path, chooseRoot(options));
  HULL_ASSIGN_OR_RETURN(detail::Root root, detail::Root::open(root_path));
  std::string proc_root = options.proc_root;
  if (proc_root.empty()) {
    proc_root =
        exists(under(root_path, "proc/driver/nvidia/version")) ? under(root_path, "proc") : "/proc";
  }
  std::string dev_root = options.dev_root;
  if (dev_root.empty()) {
    dev_root = exists(under(root_path, "dev/nvidiactl")) ? under(root_path, "dev") : "/dev";
  }
  Driver d;
  d.root = root.path.empty() ? "/" : root.path;
  HULL_ASSIGN_OR_RETURN(d.version, readVersion(root, proc_root));
  HULL_ASSIGN_OR_RETURN(d.gpus, readGpus(proc_root, dev_root));
  d.control_nodes = detail::findControlNodes(dev_root);
  std::string version = d.version.str();
  HULL_ASSIGN_OR_RETURN(d.libraries, detail::findLibraries(root, version));
  d.binaries = detail::findBinaries(root);
  d.firmware = detail::findFirmware(root, version);
  d.ipc = detail::findIpc(root);
  d.cuda = findCuda(d, options.query_libcuda);
  return d;
}

Result<Version> parseProcDriverVersion(std::string_view text) {
  size_t at = text.find("NVRM version:");
  if (at == std::string_view::npos) {
    return fail(Errc::kInvalidArgument, "no \"NVRM version:\" line");
  }
  std::string_view line = text.substr(at);
  line = line.substr(0, line.find('\n'));
  size_t module = line.find("Kernel Module");
  if (module == std::string_view::npos) {
    return fail(Errc::kInvalidArgument, "\"NVRM version:\" line names no Kernel Module");
  }
  std::string_view rest = trim(line.substr(module + std::string_view("Kernel Module").size()));
  // The open module says "Open Kernel Module for x86_64  550.54.14  Release Build ...".
  if (rest.starts_with("for ")) {
    rest = trim(rest.substr(4));
    rest = trim(rest.substr(std::min(rest.size(), rest.find_first_of(" \t"))));
  }
  std::string_view token = rest.substr(0, rest.find_first_of(" \t"));
  if (token.empty()) return fail(Errc::kInvalidArgument, "\"NVRM version:\" line has no version");
  auto v = parseVersion(token);
  if (!v) return fail(Errc::kInvalidArgument, fmt::format("bad driver version \"{}\"", token));
  return v;
}

Result<GpuInformation> parseGpuInformation(std::string_view text) {
  GpuInformation info;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "Model") info.model = value;
    if (key == "GPU UUID") info.uuid = value;
    if (key == "Bus Location") info.bus_location = value;
    if (key == "GPU Excluded") info.excluded = value == "Yes";
    if (key == "Device Minor") {
      int minor = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), minor);
      if (ec != std::errc() || end != value.data() + value.size() || minor < 0) {
        return fail(Errc::kInvalidArgument, fmt::format("bad Device Minor \"{}\"", value));
      }
      info.minor = minor;
    }
  }
  return info;
}

}  // namespace hull::gpu
