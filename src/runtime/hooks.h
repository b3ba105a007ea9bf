// OCI hooks: programs the runtime runs at points of a container's life, each given the
// container's state JSON on stdin. prestart and createRuntime run in the runtime's namespaces
// once the container's mounts exist; createContainer in the container's namespaces before
// pivot_root; startContainer in the container just before its process; poststart after start;
// poststop at delete.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_spec.h"

namespace hull::runtime {

// Forks and execs one hook with `state_json` on its stdin and waits for it (killing it after
// hook.timeout seconds). A non-zero exit is an error naming the hook.
Result<void> runHook(const oci::Hook& hook, const std::string& state_json);
Result<void> runHooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                      const char* kind);

}  // namespace hull::runtime
