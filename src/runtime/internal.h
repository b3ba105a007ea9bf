// Pieces shared by the runtime's own files; not part of its interface.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"

namespace hull::runtime {

inline constexpr const char* kStateFile = "state.json";
inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kExecFifo = "exec.fifo";

Result<StoredState> loadStoredState(const std::filesystem::path& root, const std::string& id);
Status statusOf(const StoredState& s, const std::filesystem::path& dir);
// CLONE_NEWPID for "pid", ...; 0 for an unknown type.
int namespaceFlag(const std::string& type);
// The OCI state document hooks read on stdin.
std::string hookState(const std::string& id, Status status, pid_t pid, const std::string& bundle,
                      const std::map<std::string, std::string>& annotations);

// Opens /dev/null for a stdio slot the caller left at -1.
Result<UniqueFd> openDevNull();

}  // namespace hull::runtime
