// RUN --device: a step's CDI devices become a spec edit, planned as `hull run --device` plans
// them, and what the devices' ld cache hook writes into the root is taken out after the step.
// BuildKit leaves those writes in the layer; here they would be soname links into a driver that
// only the build machine has, so the image would carry links that dangle everywhere else.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "engine/build_executor_internal.h"
#include "engine/gpu.h"
#include "engine/run_spec_internal.h"

namespace hull::engine::detail {

namespace {

constexpr std::string_view kHullConf = "etc/ld.so.conf.d/000-hull-gpu.conf";

// The names in a directory of the root, sorted; nullopt when it is not a directory there.
std::optional<std::vector<std::string>> listInRoot(int root_fd, const std::string& rel) {
  UniqueFd fd(openInRoot(root_fd, rel, O_RDONLY | O_DIRECTORY));
  if (!fd) return std::nullopt;
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return std::nullopt;
  (void)fd.release();  // closedir owns it now
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool existsInRoot(int root_fd, std::string_view rel) {
  return UniqueFd(openInRoot(root_fd, std::string(rel), O_PATH | O_NOFOLLOW)).get() >= 0;
}

// Unlinks rel (a file, or with `dir` an empty directory) through its parent's fd.
void unlinkInRoot(int root_fd, std::string_view rel, bool dir = false) {
  std::size_t slash = rel.rfind('/');
  std::string parent(slash == std::string_view::npos ? "" : rel.substr(0, slash));
  std::string name(rel.substr(slash == std::string_view::npos ? 0 : slash + 1));
  UniqueFd pfd(openInRoot(root_fd, parent, O_RDONLY | O_DIRECTORY));
  if (pfd) (void)::unlinkat(pfd.get(), name.c_str(), dir ? AT_REMOVEDIR : 0);
}

std::string baseName(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

Result<oci::SpecEdit> stepDevices(const build::RunRequest& req, const oci::Process& process,
                                  const RootfsView& rootfs) {
  if (req.devices.empty()) return oci::SpecEdit{};
  GpuAsk ask;
  std::optional<gpu::CdiRegistry> registry;
  for (const auto& d : req.devices) {
    if (!gpu::isCdiDeviceName(d.name)) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("RUN --device={}: not a CDI device name (want vendor.com/class=name)",
                              d.name));
    }
    if (!d.required) {
      if (!registry) registry = gpu::loadCdiSpecs(gpu::defaultCdiSpecDirs());
      if (auto found = gpu::resolveCdiDevices(*registry, {d.name}); !found) {
        if (req.warn) {
          req.warn(fmt::format("optional device {} is not available, the step runs without it: {}",
                               d.name, found.error().message));
        }
        continue;
      }
    }
    ask.cdi_devices.push_back(d.name);
  }
  if (!ask.any()) return oci::SpecEdit{};
  auto edit = planGpus(ask, process.env, rootfs, GpuHost{});
  if (!edit) return fail(edit.error().wrap("RUN --device"));
  return std::move(*edit);
}

DeviceLeftovers::DeviceLeftovers(int root_fd, const oci::SpecEdit& edit) : root_fd_(root_fd) {
  bool hooks = edit.hooks != oci::Hooks{};
  if (!hooks) return;  // nothing writes into the root but the hooks
  for (const auto& m : edit.mounts) {
    driver_names_.push_back(baseName(m.destination));
    std::string dir = cleanPath("/" + m.destination).substr(1);
    dir = dir.substr(0, dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
    if (std::any_of(dirs_.begin(), dirs_.end(), [&](const Dir& d) { return d.path == dir; })) {
      continue;
    }
    auto names = listInRoot(root_fd, dir);
    dirs_.push_back(Dir{dir, names.value_or(std::vector<std::string>{}), names.has_value()});
  }
  std::sort(driver_names_.begin(), driver_names_.end());
  had_cache_ = existsInRoot(root_fd, "etc/ld.so.cache");
  had_conf_ = existsInRoot(root_fd, "etc/ld.so.conf");
  had_conf_d_ = existsInRoot(root_fd, "etc/ld.so.conf.d");
  had_hull_conf_ = existsInRoot(root_fd, kHullConf);
  UniqueFd etc(openInRoot(root_fd, "etc", O_PATH | O_DIRECTORY));
  if (!etc || ::fstat(etc.get(), &etc_before_) != 0) etc_before_ = {};
}

bool DeviceLeftovers::removeLinks(const Dir& d, std::vector<std::string>& gone) {
  UniqueFd dfd(openInRoot(root_fd_, d.path, O_RDONLY | O_DIRECTORY));
  if (!dfd) return false;
  bool removed = false;
  for (const auto& name : listInRoot(root_fd_, d.path).value_or(std::vector<std::string>{})) {
    if (std::binary_search(d.names.begin(), d.names.end(), name)) continue;
    char target[4096];
    ssize_t n = ::readlinkat(dfd.get(), name.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string to = baseName(std::string_view(target, std::size_t(n)));
    if (std::binary_search(gone.begin(), gone.end(), to) &&
        ::unlinkat(dfd.get(), name.c_str(), 0) == 0) {
      gone.push_back(name);
      removed = true;
    }
  }
  return removed;
}

void DeviceLeftovers::remove() {
  if (driver_names_.empty()) return;
  // Links the hook made to the driver's files, and links to those links (libcuda.so ->
  // libcuda.so.1 -> libcuda.so.550.54.14); a step's own new files stay.
  std::vector<std::string> gone = driver_names_;
  for (bool removed = true; removed;) {
    removed = false;
    std::sort(gone.begin(), gone.end());
    for (const Dir& d : dirs_) removed |= removeLinks(d, gone);
  }
  if (!had_hull_conf_) unlinkInRoot(root_fd_, kHullConf);
  if (!had_conf_d_) unlinkInRoot(root_fd_, "etc/ld.so.conf.d", true);
  if (!had_conf_) unlinkInRoot(root_fd_, "etc/ld.so.conf");
  if (!had_cache_) unlinkInRoot(root_fd_, "etc/ld.so.cache");
  UniqueFd etc(openInRoot(root_fd_, "etc", O_RDONLY | O_DIRECTORY));
  if (etc && etc_before_.st_mtim.tv_sec != 0) {
    timespec times[2] = {etc_before_.st_atim, etc_before_.st_mtim};
    (void)::futimens(etc.get(), times);
  }
}

}  // namespace hull::engine::detail
