// Docker's seccomp profile format before resolution: syscall groups that apply only with some
// capabilities, architectures or kernels. defaults.cc writes moby's default profile in it and
// seccomp_profile.cc reads user profiles into it; both resolve through resolveSeccompProfile.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/defaults.h"
#include "oci/runtime_spec.h"

namespace hull::oci {

struct ProfileFilter {
  std::vector<std::string> caps;    // includes: all of them; excludes: any of them
  std::vector<std::string> arches;  // libseccomp's short names: "amd64", "x86", "arm64", ...
  std::optional<KernelVersion> min_kernel;
};

struct ProfileSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
  ProfileFilter includes;
  ProfileFilter excludes;
};

struct ProfileArch {
  std::string arch;  // SCMP_ARCH_X86_64
  std::vector<std::string> sub_arches;
};

struct SeccompProfile {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<ProfileArch> arch_map;
  std::vector<std::string> flags;
  std::vector<ProfileSyscall> syscalls;
};

// Keeps the groups whose includes hold and whose excludes do not, as Docker's setupSeccomp.
Result<Seccomp> resolveSeccompProfile(const SeccompProfile& profile, const SeccompContext& context);

}  // namespace hull::oci
