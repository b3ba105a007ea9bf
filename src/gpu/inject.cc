#include "gpu/inject.h"

#include <algorithm>
#include <filesystem>
#include <string_view>

namespace hull::gpu {
namespace {

// Read-only, and no set-uid binaries or device nodes through the driver's files.
const std::vector<std::string> kBindOptions = {"ro", "nosuid", "nodev", "bind"};

bool has(const std::set<Capability>& caps, Capability c) { return caps.count(c) != 0; }

std::string baseName(std::string_view path) {
  return std::filesystem::path(path).filename().string();
}
std::string dirName(std::string_view path) {
  return std::filesystem::path(path).parent_path().string();
}

void addNode(oci::SpecEdit& edit, const DeviceNode& node) {
  oci::Device device;
  device.path = node.container_path;
  device.type = std::string(1, node.type);
  device.major = node.major;
  device.minor = node.minor;
  device.file_mode = 0666;
  edit.devices.push_back(device);
  oci::DeviceCgroupRule rule;
  rule.allow = true;
  rule.type = device.type;
  rule.major = node.major;
  rule.minor = node.minor;
  rule.access = "rwm";
  edit.device_rules.push_back(rule);
}

// As libnvidia-container decides: nvidiactl always, the UVM nodes for compute only, the modeset
// node for display only. nvidia-caps (MIG) nodes are not given: hull selects whole GPUs.
bool wantControlNode(const DeviceNode& node, const std::set<Capability>& caps) {
  const auto name = baseName(node.container_path);
  if (name == "nvidiactl") return true;
  if (name == "nvidia-uvm" || name == "nvidia-uvm-tools") return has(caps, Capability::kCompute);
  if (name == "nvidia-modeset") return has(caps, Capability::kDisplay);
  return false;
}

// Binaries by name, as the toolkit groups them; one hull does not know follows its label.
bool wantBinary(const DriverFile& file, const std::set<Capability>& caps) {
  const auto name = baseName(file.container_path);
  if (name == "nvidia-cuda-mps-control" || name == "nvidia-cuda-mps-server") {
    return has(caps, Capability::kCompute);
  }
  if (name == "nvidia-smi" || name == "nvidia-debugdump" || name == "nvidia-persistenced") {
    return has(caps, Capability::kUtility);
  }
  return has(caps, file.capability);
}

// The persistenced and fabric manager sockets serve utility (NVML); the rest (the MPS pipe
// directory) serves compute.
bool wantIpc(const DriverFile& file, const std::set<Capability>& caps) {
  const auto& path = file.container_path;
  if (path.find("nvidia-persistenced") != std::string::npos ||
      path.find("fabricmanager") != std::string::npos) {
    return has(caps, Capability::kUtility);
  }
  return has(caps, Capability::kCompute);
}

void addBind(oci::SpecEdit& edit, const DriverFile& file) {
  oci::Mount mount;
  mount.destination = file.container_path;
  mount.type = "bind";
  mount.source = file.host_path;
  mount.options = kBindOptions;
  edit.mounts.push_back(std::move(mount));
}

// The ld cache lists the compat directory first, then the driver's library directories that
// received a library.
std::vector<std::string> ldcacheFolders(const Driver& driver,
                                        const std::vector<std::string>& injected_dirs,
                                        const InjectOptions& options) {
  std::vector<std::string> folders;
  if (options.compat) folders.push_back(options.compat->dir);
  for (const auto& dir : driver.library_dirs()) {
    bool used = std::find(injected_dirs.begin(), injected_dirs.end(), dir) != injected_dirs.end();
    if (used && std::find(folders.begin(), folders.end(), dir) == folders.end()) {
      folders.push_back(dir);
    }
  }
  return folders;
}

}  // namespace

oci::SpecEdit gpuSpecEdit(const Driver& driver, const Selection& selection,
                          const InjectOptions& options) {
  oci::SpecEdit edit;
  if (!selection.inject_driver) return edit;
  const auto& caps = selection.caps;

  for (int gpu : selection.gpus) addNode(edit, driver.gpus.at(gpu).node);
  for (const auto& node : driver.control_nodes) {
    if (wantControlNode(node, caps)) addNode(edit, node);
  }

  std::vector<std::string> injected_dirs;
  for (const auto& lib : driver.libraries) {
    if (!has(caps, lib.capability)) continue;
    addBind(edit, lib);
    injected_dirs.push_back(dirName(lib.container_path));
  }
  for (const auto& bin : driver.binaries) {
    if (wantBinary(bin, caps)) addBind(edit, bin);
  }
  if (has(caps, Capability::kUtility) || has(caps, Capability::kCompute)) {
    for (const auto& fw : driver.firmware) addBind(edit, fw);
  }
  for (const auto& ipc : driver.ipc) {
    if (wantIpc(ipc, caps)) addBind(edit, ipc);
  }

  edit.env.push_back("NVIDIA_VISIBLE_DEVICES=" + selection.visible_devices);
  edit.env.push_back("NVIDIA_DRIVER_CAPABILITIES=" + capabilitiesString(caps));

  auto folders = ldcacheFolders(driver, injected_dirs, options);
  if (!folders.empty()) {
    oci::Hook hook;
    hook.path = options.hook_binary;
    hook.args = ldcacheHookArgs(options.hook_binary, folders);
    edit.hooks.create_container.push_back(std::move(hook));
  }
  return edit;
}

std::vector<std::string> ldcacheHookArgs(const std::string& hook_binary,
                                         const std::vector<std::string>& folders) {
  // hull-gpu-hook takes the hook's name first; hull itself, its `gpu hook` command.
  bool dedicated =
      std::string_view(hook_binary).ends_with("/hull-gpu-hook") || hook_binary == "hull-gpu-hook";
  std::vector<std::string> args = {hook_binary};
  if (!dedicated) args.insert(args.end(), {"gpu", "hook"});
  args.push_back("update-ldcache");
  for (const auto& folder : folders) {
    args.push_back("--folder");
    args.push_back(folder);
  }
  return args;
}

}  // namespace hull::gpu
