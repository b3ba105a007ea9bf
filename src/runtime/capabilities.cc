#include "runtime/capabilities.h"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace hull::runtime {
namespace {

Result<std::vector<int>> numbers(const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& name : names) {
    HULL_ASSIGN_OR_RETURN(int cap, capabilityNumber(name));
    if (cap >= 0) out.push_back(cap);
  }
  return out;
}

bool contains(const std::vector<int>& v, int cap) {
  return std::find(v.begin(), v.end(), cap) != v.end();
}

Result<void> setCapabilitySets(const CapabilityPlan& plan) {
  cap_t caps = cap_init();
  if (caps == nullptr) return failErrno("cap_init");
  struct Free {
    cap_t c;
    ~Free() { cap_free(c); }
  } guard{caps};
  auto set = [&](cap_flag_t flag, const std::vector<int>& list) {
    std::vector<cap_value_t> values(list.begin(), list.end());
    if (values.empty()) return 0;
    return cap_set_flag(caps, flag, static_cast<int>(values.size()), values.data(), CAP_SET);
  };
  if (set(CAP_EFFECTIVE, plan.effective) != 0 || set(CAP_PERMITTED, plan.permitted) != 0 ||
      set(CAP_INHERITABLE, plan.inheritable) != 0) {
    return failErrno("cap_set_flag");
  }
  if (cap_set_proc(caps) != 0) return failErrno("setting capabilities");
  return {};
}

}  // namespace

Result<int> capabilityNumber(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!lower.starts_with("cap_")) lower = "cap_" + lower;
  cap_value_t value = 0;
  if (cap_from_name(lower.c_str(), &value) != 0) {
    // Newer than this libcap: left out like a capability the kernel lacks.
    if (lower.size() > 4) return -1;
    return fail(Errc::kInvalidArgument, "unknown capability \"" + name + "\"");
  }
  if (value > static_cast<cap_value_t>(cap_max_bits()) - 1) return -1;
  return static_cast<int>(value);
}

Result<CapabilityPlan> planCapabilities(const oci::Capabilities& caps) {
  CapabilityPlan plan;
  HULL_ASSIGN_OR_RETURN(plan.bounding, numbers(caps.bounding));
  HULL_ASSIGN_OR_RETURN(plan.effective, numbers(caps.effective));
  HULL_ASSIGN_OR_RETURN(plan.inheritable, numbers(caps.inheritable));
  HULL_ASSIGN_OR_RETURN(plan.permitted, numbers(caps.permitted));
  HULL_ASSIGN_OR_RETURN(plan.ambient, numbers(caps.ambient));
  return plan;
}

std::vector<std::string> knownCapabilities() {
  std::vector<std::string> out;
  for (int cap = 0; cap < static_cast<int>(cap_max_bits()); ++cap) {
    char* name = cap_to_name(static_cast<cap_value_t>(cap));
    if (name == nullptr) continue;
    std::string upper(name);
    cap_free(name);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    out.push_back(upper);
  }
  return out;
}

Result<void> applyUserAndCapabilities(const oci::User& user,
                                      const std::optional<CapabilityPlan>& plan) {
  if (plan) {
    for (int cap = 0; cap < static_cast<int>(cap_max_bits()); ++cap) {
      if (contains(plan->bounding, cap)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
        return failErrno("dropping capability " + std::to_string(cap) + " from the bounding set");
      }
    }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return failErrno("prctl(PR_SET_KEEPCAPS)");
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  if (setgroups(groups.size(), groups.empty() ? nullptr : groups.data()) != 0) {
    return failErrno("setgroups");
  }
  if (setresgid(user.gid, user.gid, user.gid) != 0) {
    return failErrno("setgid " + std::to_string(user.gid));
  }
  if (setresuid(user.uid, user.uid, user.uid) != 0) {
    return failErrno("setuid " + std::to_string(user.uid));
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return failErrno("prctl(PR_SET_KEEPCAPS)");
  if (!plan) return {};
  HULL_TRY(setCapabilitySets(*plan));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap : plan->ambient) {
    // An ambient capability must be permitted and inheritable; runc ignores the rest too.
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  }
  return {};
}

}  // namespace hull::runtime
