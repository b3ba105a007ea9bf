// Process identity and privileges: the capability sets of process.capabilities, resolved to
// numbers before the container is forked (a bad name is an error for the caller), and applied in
// the container after its setup and before execve.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_spec.h"

namespace hull::runtime {

struct CapabilityPlan {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// "CAP_CHOWN" → CAP_CHOWN. Names this kernel does not know are left out, as runc does.
Result<int> capabilityNumber(const std::string& name);
Result<CapabilityPlan> planCapabilities(const oci::Capabilities& caps);
// All capability names this kernel knows ("CAP_CHOWN", ...), for `features`.
std::vector<std::string> knownCapabilities();

// Drops the bounding set, switches to user.uid/gid with user.additional_gids (keeping
// capabilities across setuid), then sets the effective/permitted/inheritable and ambient sets.
// Without a plan the capabilities are left as they are.
Result<void> applyUserAndCapabilities(const oci::User& user,
                                      const std::optional<CapabilityPlan>& plan);

}  // namespace hull::runtime
