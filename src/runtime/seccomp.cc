#include "runtime/seccomp.h"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace hull::runtime {
namespace {

tl::unexpected<Error> seccompError(const std::string& what, int rc) {
  return fail(Errc::kInvalidArgument, "seccomp: " + what + ": " + std::strerror(-rc));
}

// One rule; libseccomp refuses two comparisons of the same argument in one rule, so such rules
// are split into one rule per comparison as runc does.
Result<void> addRule(scmp_filter_ctx ctx, uint32_t action, int nr,
                     const std::vector<scmp_arg_cmp>& cmps, const std::string& name) {
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(cmps.size()),
                                  cmps.empty() ? nullptr : cmps.data());
  if (rc == -EINVAL && cmps.size() > 1) {
    for (const auto& c : cmps) {
      rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
      if (rc != 0) return seccompError("adding a rule for " + name, rc);
    }
    return {};
  }
  if (rc != 0) return seccompError("adding a rule for " + name, rc);
  return {};
}

Result<void> addSyscall(scmp_filter_ctx ctx, uint32_t default_action,
                        const oci::SeccompSyscall& call) {
  HULL_ASSIGN_OR_RETURN(uint32_t action, seccompAction(call.action, call.errno_ret));
  if (action == default_action) return {};  // libseccomp refuses rules equal to the default
  std::vector<scmp_arg_cmp> cmps;
  for (const auto& a : call.args) {
    HULL_ASSIGN_OR_RETURN(scmp_compare op, seccompOperator(a.op));
    if (a.index > 5) return fail(Errc::kInvalidArgument, "seccomp: argument index above 5");
    cmps.push_back(
        scmp_arg_cmp{.arg = a.index, .op = op, .datum_a = a.value, .datum_b = a.value_two});
  }
  for (const auto& name : call.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // a syscall this kernel or libseccomp does not know
    HULL_TRY(addRule(ctx, action, nr, cmps, name));
  }
  return {};
}

// The seccomp(2) flags that libseccomp derives from the same names (see build).
Result<unsigned> filterFlags(const std::vector<std::string>& names) {
  unsigned flags = 0;
  for (const auto& flag : names) {
    if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      flags |= SECCOMP_FILTER_FLAG_LOG;
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else if (flag == "SECCOMP_FILTER_FLAG_TSYNC") {
      flags |= SECCOMP_FILTER_FLAG_TSYNC;
    } else {
      return fail(Errc::kInvalidArgument, "seccomp: unknown flag \"" + flag + "\"");
    }
  }
  return flags;
}

}  // namespace

Result<uint32_t> seccompAction(const std::string& name, std::optional<uint32_t> errno_ret) {
  uint32_t err = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
  if (name == "SCMP_ACT_NOTIFY") {
    return fail(Errc::kUnsupported, "seccomp: SCMP_ACT_NOTIFY is not supported");
  }
  return fail(Errc::kInvalidArgument, "seccomp: unknown action \"" + name + "\"");
}

Result<scmp_compare> seccompOperator(const std::string& name) {
  static const std::pair<const char*, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [n, op] : kOps) {
    if (name == n) return op;
  }
  return fail(Errc::kInvalidArgument, "seccomp: unknown operator \"" + name + "\"");
}

Result<uint32_t> seccompArch(const std::string& name) {
  std::string_view n(name);
  if (!n.starts_with("SCMP_ARCH_")) {
    return fail(Errc::kInvalidArgument, "seccomp: unknown architecture \"" + name + "\"");
  }
  std::string lower(n.substr(10));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "native") return seccomp_arch_native();
  uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
  if (arch == 0)
    return fail(Errc::kInvalidArgument, "seccomp: unknown architecture \"" + name + "\"");
  return arch;
}

Result<SeccompFilter> SeccompFilter::build(const oci::Seccomp& spec, bool no_new_privs) {
  HULL_ASSIGN_OR_RETURN(uint32_t default_action,
                        seccompAction(spec.default_action, spec.default_errno_ret));
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) return fail(Errc::kInvalidArgument, "seccomp: cannot make a filter");
  SeccompFilter filter(ctx);
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0);
  if (rc != 0) return seccompError("setting no_new_privs", rc);
  // Syscalls sorted into a binary tree instead of one long chain of comparisons: a program of
  // 1.2k instructions instead of 1k for Docker's profile, but each syscall's verdict takes ~10
  // of them, and the kernel, which works out per syscall number at load time whether the filter
  // always allows it, loads it in half the time (0.5 ms instead of 1.1 ms at every start).
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc != 0) return seccompError("asking for a binary tree", rc);
  for (const auto& name : spec.architectures) {
    HULL_ASSIGN_OR_RETURN(uint32_t arch, seccompArch(name));
    rc = seccomp_arch_add(ctx, arch);
    if (rc != 0 && rc != -EEXIST) return seccompError("adding architecture " + name, rc);
  }
  for (const auto& flag : spec.flags) {
    if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
    } else if (flag == "SECCOMP_FILTER_FLAG_TSYNC") {
      rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    } else {
      return fail(Errc::kInvalidArgument, "seccomp: unknown flag \"" + flag + "\"");
    }
    if (rc != 0) return seccompError("setting flag " + flag, rc);
  }
  for (const auto& call : spec.syscalls) HULL_TRY(addSyscall(ctx, default_action, call));
  return filter;
}

Result<SeccompFilter> SeccompFilter::build(const oci::Seccomp& spec, bool no_new_privs,
                                           const SeccompCache& cache) {
  HULL_ASSIGN_OR_RETURN(unsigned flags, filterFlags(spec.flags));
  std::string key = seccompCacheKey(spec);
  // A valid entry exists only for a profile that built without error before.
  if (auto program = cache.lookup(key)) {
    return SeccompFilter(std::move(*program), flags, no_new_privs, true);
  }
  HULL_ASSIGN_OR_RETURN(SeccompFilter built, build(spec, no_new_privs));
  HULL_ASSIGN_OR_RETURN(BpfProgram program, built.program());
  (void)cache.store(key, program);  // best effort: without an entry the next start builds again
  return SeccompFilter(std::move(program), flags, no_new_privs, false);
}

Result<void> SeccompFilter::load() const {
  if (!ctx_) return loadProgram();
  int rc = seccomp_load(ctx_.get());
  if (rc != 0) return seccompError("loading the filter", rc);
  return {};
}

// What seccomp_load does with the attributes build sets: no_new_privs first when asked for (else
// the kernel wants CAP_SYS_ADMIN), then the filter with its flags.
Result<void> SeccompFilter::loadProgram() const {
  if (no_new_privs_ && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return seccompError("setting no_new_privs", -errno);
  }
  sock_fprog prog{.len = static_cast<unsigned short>(program_.size()),
                  .filter = const_cast<sock_filter*>(program_.data())};
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
  if (rc < 0) return seccompError("loading the filter", -errno);
  if (rc > 0) return seccompError("loading the filter", -ESRCH);  // a thread could not sync
  return {};
}

Result<BpfProgram> SeccompFilter::program() const {
  if (!ctx_) return program_;
  UniqueFd fd(memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return fail(Errc::kIo, "memfd_create failed");
  int rc = seccomp_export_bpf(ctx_.get(), fd.get());
  if (rc != 0) return seccompError("exporting the filter", rc);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail(Errc::kIo, "fstat failed");
  if (st.st_size <= 0 || st.st_size % sizeof(sock_filter) != 0) {
    return fail(Errc::kInternal,
                "seccomp: exported filter of " + std::to_string(st.st_size) + " bytes");
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return failErrno("lseek");
  BpfProgram program(static_cast<std::size_t>(st.st_size) / sizeof(sock_filter));
  auto* out = reinterpret_cast<char*>(program.data());
  std::size_t want = static_cast<std::size_t>(st.st_size);
  for (std::size_t got = 0; got < want;) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), out + got, want - got));
    if (n == 0) return fail(Errc::kIo, "seccomp: short read of the exported filter");
    got += n;
  }
  return program;
}

Result<std::size_t> SeccompFilter::programSize() const {
  HULL_ASSIGN_OR_RETURN(BpfProgram program, this->program());
  return program.size();
}

}  // namespace hull::runtime
