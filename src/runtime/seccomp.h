// linux.seccomp of the spec translated into a libseccomp filter. The filter is built before the
// container's init is forked (errors reach the caller) and loaded as the last step before execve,
// so the runtime's own setup is never filtered. With a SeccompCache the compiled BPF is taken from
// (or added to) the cache and loaded with seccomp(2) directly, without libseccomp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <seccomp.h>

#include "base/result.h"
#include "oci/runtime_spec.h"
#include "runtime/seccomp_cache.h"

namespace hull::runtime {

// "SCMP_ACT_ERRNO" with an errnoRet → SCMP_ACT_ERRNO(n) (EPERM when not given), ...
Result<uint32_t> seccompAction(const std::string& name, std::optional<uint32_t> errno_ret);
Result<scmp_compare> seccompOperator(const std::string& name);
// "SCMP_ARCH_X86_64" → SCMP_ARCH_X86_64's value.
Result<uint32_t> seccompArch(const std::string& name);

class SeccompFilter {
 public:
  // no_new_privs: when false the filter does not set it (SCMP_FLTATR_CTL_NNP off), and loading
  // then needs CAP_SYS_ADMIN, so callers load it before dropping capabilities.
  static Result<SeccompFilter> build(const oci::Seccomp& spec, bool no_new_privs);
  // The same filter, from the cache when it holds a valid entry for the profile; otherwise built
  // and stored. The cache never makes a start fail: an unusable one only costs the build.
  static Result<SeccompFilter> build(const oci::Seccomp& spec, bool no_new_privs,
                                     const SeccompCache& cache);
  Result<void> load() const;
  // The number of BPF instructions, for tests.
  Result<std::size_t> programSize() const;
  // The BPF program the kernel gets.
  Result<BpfProgram> program() const;
  bool fromCache() const { return from_cache_; }

 private:
  struct Release {
    void operator()(void* ctx) const { seccomp_release(ctx); }
  };
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
  SeccompFilter(BpfProgram program, unsigned flags, bool no_new_privs, bool from_cache)
      : program_(std::move(program)),
        flags_(flags),
        no_new_privs_(no_new_privs),
        from_cache_(from_cache) {}
  Result<void> loadProgram() const;

  std::unique_ptr<void, Release> ctx_;  // set when built without a cache
  BpfProgram program_;                  // otherwise this, with its seccomp(2) flags
  unsigned flags_ = 0;
  bool no_new_privs_ = false;
  bool from_cache_ = false;
};

}  // namespace hull::runtime
