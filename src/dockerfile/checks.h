// Build checks: the hazards BuildKit's `docker build --check` reports, as data (a rule table) and
// one function that runs them over a parsed Dockerfile. A linter can grow from the same table.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dockerfile/dockerfile.h"

namespace hull::dockerfile {

struct CheckRule {
  std::string name;         // BuildKit's name: "JSONArgsRecommended", "StageNameCasing", ...
  std::string description;  // one line
  std::string url;          // the rule's page in Docker's reference
};

struct CheckWarning {
  std::string rule;  // CheckRule::name
  int line = 0;      // 1-based line in the Dockerfile
  std::string message;
};

// Every rule, in a fixed order.
const std::vector<CheckRule>& checkRules();

struct CheckOptions {
  // The Env ("K=V") of the image a stage starts FROM, called with the expanded base name; the same
  // callback ParseOptions::base_image_env takes. UndefinedVar needs it for stages built on an
  // image: unset (or failing), such stages are not checked for it, because any variable may come
  // from the image.
  std::function<Result<std::vector<std::string>>(const std::string& base)> base_image_env;
};

// Runs every rule over `df` (parsed from `text`, which some rules read again). Sorted by line.
// Rules named in a `# check=skip=A,B` directive (or all, `skip=all`) are left out.
std::vector<CheckWarning> runChecks(const Dockerfile& df, std::string_view text);
std::vector<CheckWarning> runChecks(const Dockerfile& df, std::string_view text,
                                    const CheckOptions& options);

// The `# check=` parser directive: "skip=Rule1,Rule2;error=true" (BuildKit's syntax).
struct CheckConfig {
  bool skip_all = false;
  std::vector<std::string> skip;
  bool error = false;  // error=true: warnings should fail the build
};
// kInvalidArgument for a malformed directive, as BuildKit refuses it.
Result<CheckConfig> checkConfig(const Dockerfile& df);

}  // namespace hull::dockerfile
