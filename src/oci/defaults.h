// Docker's security defaults as data: the default capability set and how --cap-add/--cap-drop
// change it, the masked and read-only /proc and /sys paths, and the default seccomp profile
// (moby's profiles/seccomp), plus the reader for user profiles in the same JSON format
// (`--security-opt seccomp=FILE`). Pure: no I/O; the caller supplies the capabilities, the
// architecture and the kernel version the profile is resolved for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/runtime_spec.h"

namespace hull::oci {

// Docker's 14 default capabilities ("CAP_CHOWN", ...), in moby's order.
std::vector<std::string> dockerDefaultCapabilities();
// Every capability the kernel defines up to CAP_CHECKPOINT_RESTORE (what "ALL" means).
std::vector<std::string> knownCapabilities();

// --cap-add / --cap-drop with Docker's rules: names with or without "CAP_", any case; "ALL" in
// add means every known capability except those dropped; "ALL" in drop means only those added;
// otherwise base minus drop, then add. An unknown name is an error.
Result<std::vector<std::string>> applyCapChanges(const std::vector<std::string>& base,
                                                 const std::vector<std::string>& add,
                                                 const std::vector<std::string>& drop);

std::vector<std::string> dockerMaskedPaths();
std::vector<std::string> dockerReadonlyPaths();

struct KernelVersion {
  int major = 0;
  int minor = 0;
  friend auto operator<=>(const KernelVersion&, const KernelVersion&) = default;
};

// What a profile is resolved against: its includes/excludes name capabilities (of the bounding
// set), architectures (Go's names: "amd64", "arm64", ...) and a minimum kernel.
struct SeccompContext {
  std::vector<std::string> capabilities;
  std::string arch;  // empty: the architecture hull was built for
  // hull needs openat2 (Linux 5.6), so any "minKernel" up to 5.6 holds wherever hull runs; the
  // caller passes the running kernel (uname) to resolve newer ones exactly.
  KernelVersion kernel{.major = 5, .minor = 6};
};

// moby's default profile, resolved for the given bounding capabilities (defaultAction
// SCMP_ACT_ERRNO with EPERM; CAP_SYS_ADMIN and friends unlock their syscall groups).
Seccomp dockerDefaultSeccomp(const std::vector<std::string>& capabilities);
Seccomp dockerDefaultSeccomp(const SeccompContext& context);

// A seccomp profile in Docker's JSON format (defaultAction, defaultErrnoRet, architectures or
// archMap, flags, syscalls with name/names, action, errnoRet, args, includes, excludes), resolved
// as Docker does. Untrusted input: every field is checked and errors name the syscall entry.
Result<Seccomp> parseSeccompProfile(std::string_view json, const SeccompContext& context);
Result<Seccomp> parseSeccompProfile(std::string_view json);  // the default capabilities

}  // namespace hull::oci
