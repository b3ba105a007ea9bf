// A set of additions to a runtime spec -- what CDI calls "containerEdits" -- and merging one
// into a spec. Modules that know about devices (gpu) produce a SpecEdit; engine applies it, so
// the runtime never learns where a device came from. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oci/runtime_spec.h"

namespace hull::oci {

struct SpecEdit {
  std::vector<std::string> env;                // "K=V"; replaces an existing K
  std::vector<Device> devices;                 // nodes made in the container (container paths)
  std::vector<DeviceCgroupRule> device_rules;  // allow rules added to the device cgroup
  std::vector<Mount> mounts;                   // a mount with the same destination replaces
  Hooks hooks;
  std::vector<uint32_t> additional_gids;
  friend bool operator==(const SpecEdit&, const SpecEdit&) = default;
};

// Appends `from` to `into` with the same replacement rules as applySpecEdit.
void mergeSpecEdit(SpecEdit& into, const SpecEdit& from);

// Applies an edit to a spec that has a process and linux section (both are created when
// missing): env by key, devices and mounts by container path, rules and hooks appended,
// additional gids added once each.
void applySpecEdit(RuntimeSpec& spec, const SpecEdit& edit);

}  // namespace hull::oci
