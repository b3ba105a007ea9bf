// OCI mount options ("ro", "rbind", "nosuid", "mode=755", "rprivate", ...) turned into mount(2)
// flags and data, the way runc reads them. Pure, so tests can check every option.
#pragma once

#include <string>
#include <vector>

#include "oci/runtime_spec.h"

namespace hull::runtime {

struct MountPlan {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ... (MS_BIND|MS_REC for rbind)
  unsigned long propagation = 0;  // MS_PRIVATE|MS_REC, MS_SHARED, ...; 0 when not given
  bool bind = false;
  std::string data;  // options the file system reads itself: "mode=755,size=65536k"
};

MountPlan parseMountOptions(const std::vector<std::string>& options);
// The plan for one spec mount: a "bind" type or a bind option makes it a bind mount.
MountPlan planMount(const oci::Mount& mount);
// Flags a bind mount needs applied by a second, MS_REMOUNT call (mount(2) ignores them on the
// first MS_BIND call).
unsigned long bindRemountFlags(const MountPlan& plan);
// rootfsPropagation → flags for "/" ("" means rprivate); error on unknown names.
Result<unsigned long> rootPropagation(const std::string& name);

}  // namespace hull::runtime
