// Which files of a driver root a container gets, after the NVIDIA Container Toolkit
// (libnvidia-container's nvc_info.c): libraries by capability, only those whose file name ends
// in the running driver's version (leftovers of an older driver keep the same sonames); the
// utility and MPS binaries; GSP firmware; the persistenced, fabric manager and MPS IPC paths.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "base/fs.h"
#include "gpu/driver_files.h"
#include "gpu/elf.h"

namespace hull::gpu::detail {
namespace {

struct LibName {
  std::string_view name;
  Capability cap;
};

// nvc_info.c's utility_libs, compute_libs, video_libs, graphics_libs(+_glvnd) and ngx_libs.
// The GLVND loaders (libGL.so, libEGL.so, ...) are left out: hull does not check which vendor
// built them, and an image brings its own.
constexpr LibName kLibraries[] = {
    {"libnvidia-ml", Capability::kUtility},
    {"libnvidia-cfg", Capability::kUtility},
    {"libnvidia-nscq", Capability::kUtility},
    {"libcuda", Capability::kCompute},
    {"libcudadebugger", Capability::kCompute},
    {"libnvidia-opencl", Capability::kCompute},
    {"libnvidia-gpucomp", Capability::kCompute},
    {"libnvidia-ptxjitcompiler", Capability::kCompute},
    {"libnvidia-fatbinaryloader", Capability::kCompute},
    {"libnvidia-allocator", Capability::kCompute},
    {"libnvidia-compiler", Capability::kCompute},
    {"libnvidia-pkcs11", Capability::kCompute},
    {"libnvidia-pkcs11-openssl3", Capability::kCompute},
    {"libnvidia-nvvm", Capability::kCompute},
    {"libnvidia-tileiras", Capability::kCompute},
    {"libvdpau_nvidia", Capability::kVideo},
    {"libnvidia-encode", Capability::kVideo},
    {"libnvidia-opticalflow", Capability::kVideo},
    {"libnvcuvid", Capability::kVideo},
    {"libnvidia-eglcore", Capability::kGraphics},
    {"libnvidia-glcore", Capability::kGraphics},
    {"libnvidia-tls", Capability::kGraphics},
    {"libnvidia-glsi", Capability::kGraphics},
    {"libnvidia-fbc", Capability::kGraphics},
    {"libnvidia-ifr", Capability::kGraphics},
    {"libnvidia-rtcore", Capability::kGraphics},
    {"libnvoptix", Capability::kGraphics},
    {"libGLX_nvidia", Capability::kGraphics},
    {"libEGL_nvidia", Capability::kGraphics},
    {"libGLESv2_nvidia", Capability::kGraphics},
    {"libGLESv1_CM_nvidia", Capability::kGraphics},
    {"libnvidia-glvkspirv", Capability::kGraphics},
    {"libnvidia-cbl", Capability::kGraphics},
    {"libnvidia-ngx", Capability::kNgx},
};

// Where distributions and the NVIDIA installer put the 32-bit copies (compat32).
const std::vector<std::string> kLib32Dirs = {"usr/lib/i386-linux-gnu", "usr/lib32", "lib32",
                                             "lib/i386-linux-gnu"};

// nvc_info.c's utility_bins and compute_bins.
constexpr std::pair<std::string_view, Capability> kBinaries[] = {
    {"nvidia-smi", Capability::kUtility},
    {"nvidia-debugdump", Capability::kUtility},
    {"nvidia-persistenced", Capability::kUtility},
    {"nv-fabricmanager", Capability::kUtility},
    {"nvidia-cuda-mps-control", Capability::kCompute},
    {"nvidia-cuda-mps-server", Capability::kCompute},
};
constexpr std::string_view kBinDirs[] = {"usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin"};

constexpr std::pair<std::string_view, Capability> kIpc[] = {
    {"run/nvidia-persistenced/socket", Capability::kUtility},
    {"var/run/nvidia-persistenced/socket", Capability::kUtility},
    {"run/nvidia-fabricmanager/socket", Capability::kUtility},
    {"var/run/nvidia-fabricmanager/socket", Capability::kUtility},
    {"tmp/nvidia-mps", Capability::kCompute},
};

std::string joinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? fmt::format("/{}", name) : fmt::format("{}/{}", dir, name);
}

std::vector<std::string> listDir(const std::string& host_dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(host_dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> addLibraries(const Root& root, const std::string& dir, const std::string& version,
                          bool compat32, std::set<std::string>& seen,
                          std::vector<DriverFile>& out) {
  auto resolved_dir = root.resolve(dir);
  if (!resolved_dir || resolved_dir->type != S_IFDIR) return {};
  for (const std::string& name : listDir(resolved_dir->host_path)) {
    for (const LibName& lib : kLibraries) {
      if (name != fmt::format("{}.so.{}", lib.name, version)) continue;
      auto file = root.resolve(fmt::format("{}/{}", dir, name));
      if (!file || file->type != S_IFREG || !seen.insert(file->host_path).second) break;
      HULL_ASSIGN_OR_RETURN(auto soname, elfSonameOfFile(file->host_path));
      out.push_back(DriverFile{file->host_path, joinPath(resolved_dir->container_path, name),
                               soname.value_or(name), compat32 ? Capability::kCompat32 : lib.cap});
      break;
    }
  }
  return {};
}

}  // namespace

Result<Root> Root::open(const std::string& path) {
  Root r;
  r.fd = UniqueFd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!r.fd) return failErrno("open driver root " + path);
  // The canonical path, as /proc/self/fd reports the files found under it.
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return failErrno("resolve driver root " + path);
  r.path = real;
  ::free(real);
  if (r.path == "/") r.path.clear();
  return r;
}

std::optional<Root::Resolved> Root::resolve(const std::string& rel) const {
  UniqueFd fd(openat2Fd(this->fd.get(), rel, O_PATH, RESOLVE_IN_ROOT));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::nullopt;
  std::string link = fmt::format("/proc/self/fd/{}", fd.get());
  char buf[4096];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
  std::string host(buf, static_cast<size_t>(n));
  // RESOLVE_IN_ROOT keeps the lookup inside; this guards against the root itself moving.
  if (!path.empty() && host != path && !(host.starts_with(path) && host[path.size()] == '/'))
    return std::nullopt;
  std::string_view rest = std::string_view(host).substr(path.size());
  std::string container = rest.empty() ? std::string("/") : std::string(rest);
  return Resolved{host, container, static_cast<mode_t>(st.st_mode & S_IFMT)};
}

const std::vector<std::string>& libraryDirs() {
#if defined(__aarch64__)
#define HULL_MULTIARCH "aarch64-linux-gnu"
#else
#define HULL_MULTIARCH "x86_64-linux-gnu"
#endif
  static const std::vector<std::string> dirs = {
      "usr/lib/" HULL_MULTIARCH,
      "usr/lib/" HULL_MULTIARCH "/nvidia/current",
      "usr/lib64",
      "usr/lib64/nvidia",
      "usr/lib",
      "usr/local/nvidia/lib64",
      "lib/" HULL_MULTIARCH,
      "lib64",
      "lib",
  };
  return dirs;
}

std::optional<std::string> versionFromLibraries(const Root& root) {
  for (std::string_view lib : {"libcuda.so.", "libnvidia-ml.so."}) {
    for (const std::string& dir : libraryDirs()) {
      auto file = root.resolve(fmt::format("{}/{}1", dir, lib));
      if (!file || file->type != S_IFREG) continue;
      std::string base = fs::path(file->host_path).filename().string();
      std::string suffix = base.substr(lib.size());
      if (base.starts_with(lib) && suffix.find('.') != std::string::npos) return suffix;
    }
  }
  return std::nullopt;
}

Result<std::vector<DriverFile>> findLibraries(const Root& root, const std::string& version) {
  std::vector<DriverFile> out;
  std::set<std::string> seen;
  for (const std::string& dir : libraryDirs()) {
    HULL_TRY(addLibraries(root, dir, version, false, seen, out));
  }
  for (const std::string& dir : kLib32Dirs) {
    HULL_TRY(addLibraries(root, dir, version, true, seen, out));
  }
  std::stable_sort(out.begin(), out.end(), [](const DriverFile& a, const DriverFile& b) {
    return std::tie(a.capability, a.container_path) < std::tie(b.capability, b.container_path);
  });
  return out;
}

std::vector<DriverFile> findBinaries(const Root& root) {
  std::vector<DriverFile> out;
  for (const auto& [name, cap] : kBinaries) {
    for (std::string_view dir : kBinDirs) {
      std::string rel = fmt::format("{}/{}", dir, name);
      auto file = root.resolve(rel);
      if (!file || file->type != S_IFREG) continue;
      out.push_back(DriverFile{file->host_path, fmt::format("/{}", rel), "", cap});
      break;
    }
  }
  return out;
}

std::vector<DriverFile> findFirmware(const Root& root, const std::string& version) {
  std::vector<DriverFile> out;
  std::set<std::string> seen;
  for (std::string_view base : {"lib/firmware/nvidia", "usr/lib/firmware/nvidia"}) {
    std::string dir = fmt::format("{}/{}", base, version);
    auto resolved = root.resolve(dir);
    if (!resolved || resolved->type != S_IFDIR) continue;
    for (const std::string& name : listDir(resolved->host_path)) {
      if (!name.ends_with(".bin")) continue;
      auto file = root.resolve(fmt::format("{}/{}", dir, name));
      if (!file || file->type != S_IFREG || !seen.insert(file->host_path).second) continue;
      out.push_back(
          DriverFile{file->host_path, fmt::format("/{}/{}", dir, name), "", Capability::kUtility});
    }
  }
  return out;
}

std::vector<DriverFile> findIpc(const Root& root) {
  std::vector<DriverFile> out;
  std::set<std::string> seen;
  for (const auto& [rel, cap] : kIpc) {
    auto file = root.resolve(std::string(rel));
    // A regular file stands in for a socket in test roots (a socket dies with its server).
    if (!file || !seen.insert(file->host_path).second) continue;
    if (file->type != S_IFSOCK && file->type != S_IFREG && file->type != S_IFDIR) continue;
    out.push_back(DriverFile{file->host_path, file->container_path, "", cap});
  }
  return out;
}

namespace {
std::optional<DeviceNode> statNode(const std::string& dev_root, const std::string& name) {
  std::string host = fmt::format("{}/{}", dev_root, name);
  struct stat st {};
  if (::stat(host.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return std::nullopt;
  return DeviceNode{host,
                    fmt::format("/dev/{}", name),
                    'c',
                    static_cast<int64_t>(gnu_dev_major(st.st_rdev)),
                    static_cast<int64_t>(gnu_dev_minor(st.st_rdev)),
                    st.st_mode & 07777u};
}
}  // namespace

std::vector<DeviceNode> findControlNodes(const std::string& dev_root) {
  std::vector<DeviceNode> out;
  for (const char* name : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"}) {
    if (auto n = statNode(dev_root, name)) out.push_back(*n);
  }
  for (const std::string& cap : listDir(fmt::format("{}/nvidia-caps", dev_root))) {
    if (auto n = statNode(dev_root, "nvidia-caps/" + cap)) out.push_back(*n);
  }
  return out;
}

DeviceNode gpuNode(const std::string& dev_root, int minor) {
  std::string name = fmt::format("nvidia{}", minor);
  if (auto n = statNode(dev_root, name)) return *n;
  // Not created yet (nvidia-modprobe makes them on first use): the driver's fixed major.
  return DeviceNode{
      fmt::format("{}/{}", dev_root, name), fmt::format("/dev/{}", name), 'c', 195, minor, 0666};
}

}  // namespace hull::gpu::detail
