#include "runtime/seccomp.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

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

Result<void> SeccompFilter::load() const {
  int rc = seccomp_load(ctx_.get());
  if (rc != 0) return seccompError("loading the filter", rc);
  return {};
}

Result<std::size_t> SeccompFilter::programSize() const {
  UniqueFd fd(memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return fail(Errc::kIo, "memfd_create failed");
  int rc = seccomp_export_bpf(ctx_.get(), fd.get());
  if (rc != 0) return seccompError("exporting the filter", rc);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail(Errc::kIo, "fstat failed");
  return static_cast<std::size_t>(st.st_size) / 8;  // sizeof(struct sock_filter)
}

}  // namespace hull::runtime
