// Reading Docker's seccomp profile JSON (untrusted: a user's --security-opt seccomp=FILE) and
// resolving any profile for one container, with the rules of moby's setupSeccomp.
#include "oci/seccomp_profile.h"

#include <algorithm>
#include <charconv>

#include "base/json.h"
#include "oci/internal.h"

namespace hull::oci {
namespace {

using detail::contains;

constexpr size_t kMaxProfileBytes = 4u << 20;
constexpr size_t kMaxEntries = 4096;
constexpr uint32_t kMaxArgs = 6;  // a syscall has six argument registers

constexpr std::string_view kActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG"};
constexpr std::string_view kOperators[] = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                           "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                           "SCMP_CMP_MASKED_EQ"};
constexpr std::string_view kArches[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64"};
constexpr std::string_view kFlags[] = {"SCMP_FLAG_LOG", "SCMP_FLAG_SPEC_ALLOW",
                                       "SCMP_FLAG_WAIT_KILLABLE_RECV"};

template <size_t N>
bool oneOf(const std::string_view (&set)[N], std::string_view value) {
  return std::find(std::begin(set), std::end(set), value) != std::end(set);
}

// The architecture hull was built for, in libseccomp's short names (Docker's "native" arch).
std::string nativeArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "x86";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "";
#endif
}

std::string seccompArchOf(std::string_view native) {
  if (native == "amd64") return "SCMP_ARCH_X86_64";
  if (native == "x86") return "SCMP_ARCH_X86";
  if (native == "arm64") return "SCMP_ARCH_AARCH64";
  if (native == "arm") return "SCMP_ARCH_ARM";
  if (native == "ppc64le") return "SCMP_ARCH_PPC64LE";
  if (native == "ppc64") return "SCMP_ARCH_PPC64";
  if (native == "s390x") return "SCMP_ARCH_S390X";
  if (native == "s390") return "SCMP_ARCH_S390";
  if (native == "riscv64") return "SCMP_ARCH_RISCV64";
  if (native == "mips64") return "SCMP_ARCH_MIPS64";
  if (native == "mipsel64") return "SCMP_ARCH_MIPSEL64";
  return "";
}

// Docker's filter rules: includes need every capability and the architecture listed; excludes
// drop the group on any capability or the architecture listed.
bool applies(const ProfileSyscall& call, const SeccompContext& context, const std::string& arch) {
  const ProfileFilter& ex = call.excludes;
  if (contains(ex.arches, arch)) return false;
  for (const std::string& cap : ex.caps) {
    if (contains(context.capabilities, cap)) return false;
  }
  if (ex.min_kernel && context.kernel >= *ex.min_kernel) return false;
  const ProfileFilter& in = call.includes;
  if (!in.arches.empty() && !contains(in.arches, arch)) return false;
  for (const std::string& cap : in.caps) {
    if (!contains(context.capabilities, cap)) return false;
  }
  if (in.min_kernel && context.kernel < *in.min_kernel) return false;
  return true;
}

}  // namespace

Result<Seccomp> resolveSeccompProfile(const SeccompProfile& profile,
                                      const SeccompContext& context) {
  if (!profile.architectures.empty() && !profile.arch_map.empty()) {
    return fail(Errc::kInvalidArgument,
                "seccomp profile: give either \"architectures\" or \"archMap\", not both");
  }
  std::string arch = context.arch.empty() ? nativeArch() : context.arch;
  Seccomp out;
  out.default_action = profile.default_action;
  out.default_errno_ret = profile.default_errno_ret;
  out.flags = profile.flags;
  out.architectures = profile.architectures;
  std::string seccomp_arch = seccompArchOf(arch);
  for (const ProfileArch& entry : profile.arch_map) {
    if (entry.arch != seccomp_arch) continue;
    out.architectures.push_back(entry.arch);
    out.architectures.insert(out.architectures.end(), entry.sub_arches.begin(),
                             entry.sub_arches.end());
    break;
  }
  for (const ProfileSyscall& call : profile.syscalls) {
    if (!applies(call, context, arch)) continue;
    out.syscalls.push_back(SeccompSyscall{.names = call.names,
                                          .action = call.action,
                                          .errno_ret = call.errno_ret,
                                          .args = call.args});
  }
  return out;
}

namespace {

// Field readers over untrusted JSON: a wrong type is an error naming the field, never a throw.
class Reader {
 public:
  Reader(const Json& j, std::string where) : j_(j), where_(std::move(where)) {}

  tl::unexpected<Error> bad(std::string_view what) const {
    return fail(Errc::kInvalidArgument, "seccomp profile: " + where_ + std::string(what));
  }
  const Json* field(const char* name) const {
    auto it = j_.find(name);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  Result<std::string> string(const char* name) const {
    const Json* v = field(name);
    if (!v) return std::string();
    if (!v->is_string()) return bad(std::string(name) + " must be a string");
    return v->get_ref<const std::string&>();
  }
  Result<std::optional<uint64_t>> number(const char* name, uint64_t max) const {
    const Json* v = field(name);
    if (!v) return std::optional<uint64_t>();
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      return bad(std::string(name) + " must be a whole number of at least 0");
    }
    uint64_t n = v->get<uint64_t>();
    if (n > max) return bad(std::string(name) + " is too large");
    return std::optional<uint64_t>(n);
  }
  Result<std::vector<std::string>> strings(const char* name) const {
    std::vector<std::string> out;
    const Json* v = field(name);
    if (!v) return out;
    if (!v->is_array()) return bad(std::string(name) + " must be a list of strings");
    if (v->size() > kMaxEntries) return bad(std::string(name) + " has too many entries");
    for (const Json& item : *v) {
      if (!item.is_string()) return bad(std::string(name) + " must be a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  Result<const Json*> list(const char* name) const {
    const Json* v = field(name);
    if (v && !v->is_array()) return bad(std::string(name) + " must be a list");
    if (v && v->size() > kMaxEntries) return bad(std::string(name) + " has too many entries");
    return v;
  }

 private:
  const Json& j_;
  std::string where_;
};

Result<std::optional<KernelVersion>> kernelFrom(const Reader& r, const char* name) {
  HULL_ASSIGN_OR_RETURN(std::string text, r.string(name));
  if (text.empty()) return std::optional<KernelVersion>();
  KernelVersion v;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v.major);
  if (ec == std::errc() && p < end && *p == '.') {
    auto [q, ec2] = std::from_chars(p + 1, end, v.minor);
    if (ec2 == std::errc() && q == end && v.major >= 0 && v.minor >= 0) return {v};
  }
  return r.bad(std::string(name) + " must look like \"4.8\"");
}

Result<ProfileFilter> filterFrom(const Json* j, const std::string& where) {
  ProfileFilter f;
  if (!j) return f;
  if (!j->is_object())
    return fail(Errc::kInvalidArgument, "seccomp profile: " + where + "must be an object");
  Reader r(*j, where);
  HULL_ASSIGN_OR_RETURN(f.caps, r.strings("caps"));
  HULL_ASSIGN_OR_RETURN(f.arches, r.strings("arches"));
  HULL_ASSIGN_OR_RETURN(f.min_kernel, kernelFrom(r, "minKernel"));
  return f;
}

Result<SeccompArg> argFrom(const Json& j, const std::string& where) {
  if (!j.is_object())
    return fail(Errc::kInvalidArgument,
                "seccomp profile: " + where + "an argument must be an object");
  Reader r(j, where);
  SeccompArg a;
  HULL_ASSIGN_OR_RETURN(auto index, r.number("index", kMaxArgs - 1));
  HULL_ASSIGN_OR_RETURN(auto value, r.number("value", UINT64_MAX));
  HULL_ASSIGN_OR_RETURN(auto value_two, r.number("valueTwo", UINT64_MAX));
  HULL_ASSIGN_OR_RETURN(a.op, r.string("op"));
  if (!oneOf(kOperators, a.op)) return r.bad("unknown argument operator \"" + a.op + "\"");
  a.index = static_cast<uint32_t>(index.value_or(0));
  a.value = value.value_or(0);
  a.value_two = value_two.value_or(0);
  return a;
}

bool validSyscallName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Result<void> checkAction(const Reader& r, const std::string& action, const char* field) {
  if (action == "SCMP_ACT_NOTIFY") {
    return fail(Errc::kUnsupported,
                "seccomp profile: SCMP_ACT_NOTIFY needs a notify listener, which hull does not "
                "run");
  }
  if (!oneOf(kActions, action)) {
    return r.bad(std::string(field) + " \"" + action + "\" is not a seccomp action");
  }
  return {};
}

Result<ProfileSyscall> syscallFrom(const Json& j, size_t index) {
  std::string where = "syscalls[" + std::to_string(index) + "]: ";
  if (!j.is_object())
    return fail(Errc::kInvalidArgument, "seccomp profile: " + where + "must be an object");
  Reader r(j, where);
  ProfileSyscall s;
  HULL_ASSIGN_OR_RETURN(std::string name, r.string("name"));
  HULL_ASSIGN_OR_RETURN(s.names, r.strings("names"));
  if (!name.empty() && !s.names.empty()) return r.bad("give either \"name\" or \"names\"");
  if (!name.empty()) s.names = {name};
  if (s.names.empty()) return r.bad("names no syscall");
  for (const std::string& n : s.names) {
    if (!validSyscallName(n)) return r.bad("\"" + n + "\" is not a syscall name");
  }
  HULL_ASSIGN_OR_RETURN(s.action, r.string("action"));
  HULL_TRY(checkAction(r, s.action, "action"));
  HULL_ASSIGN_OR_RETURN(auto errno_ret, r.number("errnoRet", 4095));
  if (errno_ret) s.errno_ret = static_cast<uint32_t>(*errno_ret);
  HULL_ASSIGN_OR_RETURN(const Json* args, r.list("args"));
  if (args && args->size() > kMaxArgs) return r.bad("more than six argument rules");
  for (size_t i = 0; args && i < args->size(); ++i) {
    HULL_ASSIGN_OR_RETURN(SeccompArg a, argFrom((*args)[i], where));
    s.args.push_back(std::move(a));
  }
  HULL_ASSIGN_OR_RETURN(s.includes, filterFrom(r.field("includes"), where + "includes: "));
  HULL_ASSIGN_OR_RETURN(s.excludes, filterFrom(r.field("excludes"), where + "excludes: "));
  return s;
}

Result<std::vector<ProfileArch>> archMapFrom(const Reader& r) {
  std::vector<ProfileArch> out;
  HULL_ASSIGN_OR_RETURN(const Json* map, r.list("archMap"));
  for (size_t i = 0; map && i < map->size(); ++i) {
    const Json& entry = (*map)[i];
    std::string where = "archMap[" + std::to_string(i) + "]: ";
    if (!entry.is_object()) return r.bad(where + "must be an object");
    Reader e(entry, where);
    ProfileArch arch;
    HULL_ASSIGN_OR_RETURN(arch.arch, e.string("architecture"));
    HULL_ASSIGN_OR_RETURN(arch.sub_arches, e.strings("subArchitectures"));
    for (const std::string& a : arch.sub_arches) {
      if (!oneOf(kArches, a)) return e.bad("unknown architecture \"" + a + "\"");
    }
    if (!oneOf(kArches, arch.arch)) return e.bad("unknown architecture \"" + arch.arch + "\"");
    out.push_back(std::move(arch));
  }
  return out;
}

Result<SeccompProfile> profileFrom(const Json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "seccomp profile must be an object");
  Reader r(j, "");
  SeccompProfile p;
  HULL_ASSIGN_OR_RETURN(p.default_action, r.string("defaultAction"));
  HULL_ASSIGN_OR_RETURN(const Json* syscalls, r.list("syscalls"));
  if (p.default_action.empty()) {
    return r.bad("defaultAction is missing (to run without a filter, use seccomp=unconfined)");
  }
  HULL_TRY(checkAction(r, p.default_action, "defaultAction"));
  HULL_ASSIGN_OR_RETURN(auto errno_ret, r.number("defaultErrnoRet", 4095));
  if (errno_ret) p.default_errno_ret = static_cast<uint32_t>(*errno_ret);
  HULL_ASSIGN_OR_RETURN(p.architectures, r.strings("architectures"));
  for (const std::string& a : p.architectures) {
    if (!oneOf(kArches, a)) return r.bad("unknown architecture \"" + a + "\"");
  }
  HULL_ASSIGN_OR_RETURN(p.arch_map, archMapFrom(r));
  HULL_ASSIGN_OR_RETURN(p.flags, r.strings("flags"));
  for (const std::string& f : p.flags) {
    if (!oneOf(kFlags, f)) return r.bad("unknown flag \"" + f + "\"");
  }
  HULL_ASSIGN_OR_RETURN(std::string listener, r.string("listenerPath"));
  if (!listener.empty()) {
    return fail(Errc::kUnsupported, "seccomp profile: listenerPath is not supported by hull");
  }
  for (size_t i = 0; syscalls && i < syscalls->size(); ++i) {
    HULL_ASSIGN_OR_RETURN(ProfileSyscall s, syscallFrom((*syscalls)[i], i));
    p.syscalls.push_back(std::move(s));
  }
  return p;
}

}  // namespace

Result<Seccomp> parseSeccompProfile(std::string_view json, const SeccompContext& context) {
  if (json.size() > kMaxProfileBytes) {
    return fail(Errc::kInvalidArgument, "seccomp profile is larger than 4 MiB");
  }
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(json, "seccomp profile"));
  HULL_ASSIGN_OR_RETURN(SeccompProfile profile, profileFrom(j));
  return resolveSeccompProfile(profile, context);
}

Result<Seccomp> parseSeccompProfile(std::string_view json) {
  SeccompContext context;
  context.capabilities = dockerDefaultCapabilities();
  return parseSeccompProfile(json, context);
}

}  // namespace hull::oci
