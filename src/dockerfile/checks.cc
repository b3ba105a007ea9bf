// Build checks (checks.h).
#include "dockerfile/checks.h"

namespace hull::dockerfile {

const std::vector<CheckRule>& checkRules() {
  static const std::vector<CheckRule> rules;
  return rules;
}

std::vector<CheckWarning> runChecks(const Dockerfile& df, std::string_view text) { return {}; }

}  // namespace hull::dockerfile
