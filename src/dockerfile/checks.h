// Build checks: the hazards BuildKit's `docker build --check` reports, as data (a rule table) and
// one function that runs them over a parsed Dockerfile. A linter can grow from the same table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/dockerfile.h"

namespace hull::dockerfile {

struct CheckRule {
  std::string name;         // BuildKit's name: "JSONArgsRecommended", "StageNameCasing", ...
  std::string description;  // one line
};

struct CheckWarning {
  std::string rule;  // CheckRule::name
  int line = 0;      // 1-based line in the Dockerfile
  std::string message;
};

// Every rule, in a fixed order.
const std::vector<CheckRule>& checkRules();

// Runs every rule over `df` (parsed from `text`, which some rules read again). Sorted by line.
std::vector<CheckWarning> runChecks(const Dockerfile& df, std::string_view text);

}  // namespace hull::dockerfile
