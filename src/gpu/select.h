// Which GPUs and which driver capabilities a container gets: Docker's --gpus syntax and the
// toolkit's NVIDIA_VISIBLE_DEVICES / NVIDIA_DRIVER_CAPABILITIES in the container's env. Pure.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gpu/driver.h"

namespace hull::gpu {

// Docker's --gpus value: "all", "2" (count), "device=0,2" / "device=GPU-uuid",
// "capabilities=compute,utility", or a CSV of key=value among count, device, driver (only
// "nvidia"), capabilities -- quoted as Docker documents: '"device=0,2"'.
struct GpuRequest {
  bool all = false;
  std::optional<int> count;      // the first N GPUs
  std::vector<std::string> ids;  // indices or UUIDs (prefixes of UUIDs are not accepted)
  std::set<Capability> caps;     // empty: not given
};
Result<GpuRequest> parseGpusFlag(std::string_view value);

struct Selection {
  std::vector<int> gpus;        // indices into Driver::gpus, in the order asked
  std::set<Capability> caps;    // the capabilities whose files are injected
  bool inject_driver = true;    // false for NVIDIA_VISIBLE_DEVICES=void: nothing at all
  std::string visible_devices;  // the value NVIDIA_VISIBLE_DEVICES gets inside ("0,1" / "all"
                                // / "none" / "void")
};

// The GPUs of the request; NVIDIA_VISIBLE_DEVICES in `env` ("K=V", later wins) narrows them
// (all, none, void, or indices/UUIDs, which must be among those requested), and
// NVIDIA_DRIVER_CAPABILITIES supplies the capabilities when the request has none (default
// utility,compute). Errors, one line each: "--gpus 4: this host has 1 GPU", "--gpus
// device=3: no GPU 3 (this host has GPUs 0-1)", unknown capability.
Result<Selection> selectGpus(const Driver& driver, const GpuRequest& request,
                             const std::vector<std::string>& env);

}  // namespace hull::gpu
