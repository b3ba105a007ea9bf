// The host's NVIDIA driver, found under a driver root: its version and the newest CUDA it runs,
// the GPUs (from /proc/driver/nvidia/gpus), the device nodes, and the files the NVIDIA
// Container Toolkit injects -- libraries by capability (only those of the running driver's
// version), binaries, GSP firmware and IPC sockets. Reads the file system; starts nothing.
//
// A driver root is "/" for a driver installed on the host, or a directory holding one (the GPU
// operator's /run/nvidia/driver, /usr/local/nvidia, a test's fake root). Paths inside it are
// the paths the files get inside a container.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gpu/version.h"

namespace hull::gpu {

enum class Capability { kCompute, kUtility, kVideo, kGraphics, kDisplay, kCompat32, kNgx };

std::string_view capabilityName(Capability c);  // "compute"
// NVIDIA_DRIVER_CAPABILITIES syntax: "all", or a comma list of names. An empty string means the
// toolkit's default, utility,compute. An unknown name is kInvalidArgument naming it.
Result<std::set<Capability>> parseCapabilities(std::string_view list);
std::string capabilitiesString(const std::set<Capability>& caps);  // "compute,utility"

struct DeviceNode {
  std::string host_path;       // where it is on this host ("/dev/nvidia0", or under a fake root)
  std::string container_path;  // "/dev/nvidia0"
  char type = 'c';
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t mode = 0666;
};

struct Gpu {
  int index = 0;           // ordinal as nvidia-smi counts: by PCI bus id
  int minor = 0;           // /dev/nvidia<minor>
  std::string uuid;        // "GPU-9f6f..."
  std::string name;        // "NVIDIA H200"
  std::string pci_bus_id;  // "0000:19:00.0"
  DeviceNode node;
};

struct DriverFile {
  std::string host_path;       // resolved (no symlinks): the file that is bind-mounted
  std::string container_path;  // the path under the driver root: where it appears inside
  std::string soname;          // libraries only: "libcuda.so.1"
  Capability capability = Capability::kUtility;
};

struct Driver {
  std::string root;             // the driver root, "/" or a directory
  Version version;              // "550.54.14"
  std::optional<Version> cuda;  // newest CUDA it runs (libcuda's cuDriverGetVersion or the table)
  std::vector<Gpu> gpus;
  std::vector<DeviceNode> control_nodes;  // nvidiactl, nvidia-uvm, nvidia-uvm-tools,
                                          // nvidia-modeset, nvidia-caps/*
  std::vector<DriverFile> libraries;
  std::vector<DriverFile> binaries;  // nvidia-smi, nvidia-debugdump, nvidia-persistenced,
                                     // nvidia-cuda-mps-control, nvidia-cuda-mps-server
  std::vector<DriverFile> firmware;  // lib/firmware/nvidia/<version>/*.bin
  std::vector<DriverFile> ipc;       // nvidia-persistenced and fabric manager sockets, MPS pipe
  // Directories (container paths) that hold the libraries: what the ld cache must list.
  std::vector<std::string> library_dirs() const;
};

struct DiscoverOptions {
  // Empty: $HULL_DRIVER_ROOT, else the first of "/", "/run/nvidia/driver", "/usr/local/nvidia"
  // that holds a driver.
  std::string driver_root;
  // Where /proc/driver/nvidia is read from. Empty: <driver_root>/proc when that holds
  // driver/nvidia/version (a fake root), else /proc.
  std::string proc_root;
  // Where device nodes are found. Empty: <driver_root>/dev when that holds nvidiactl, else /dev.
  std::string dev_root;
  // Ask libcuda (dlopen, cuDriverGetVersion) for the CUDA version even when the table knows the
  // driver. Costs a few milliseconds; `hull gpu info` does, `hull run` does not.
  bool query_libcuda = false;
};

// kNotFound "no NVIDIA driver found: looked in /, /run/nvidia/driver, /usr/local/nvidia (set
// --driver-root or HULL_DRIVER_ROOT)" when there is none; kInvalidArgument for a version file
// hull cannot read.
Result<Driver> discoverDriver(const DiscoverOptions& options);

// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024"
// -> 550.54.14. Also accepts the open kernel module's "NVIDIA UNIX Open Kernel Module for
// x86_64" wording.
Result<Version> parseProcDriverVersion(std::string_view text);

// /proc/driver/nvidia/gpus/<pci>/information: "Model:", "GPU UUID:", "Device Minor:", "Bus
// Location:". Fields missing from the file stay empty (minor -1).
struct GpuInformation {
  std::string model, uuid, bus_location;
  int minor = -1;
  bool excluded = false;  // "GPU Excluded: Yes": the driver will not use it; discovery skips it
};
Result<GpuInformation> parseGpuInformation(std::string_view text);

}  // namespace hull::gpu
