// Internal to the build checks (checks.cc): what every rule sees, and the rules themselves. Rules
// that BuildKit runs while parsing look at every stage; rules it runs while dispatching look only
// at the stages the target needs (`Dockerfile::stages`), as `docker build` does.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/ast.h"
#include "dockerfile/checks.h"
#include "dockerfile/dockerfile.h"
#include "dockerfile/instructions.h"

namespace hull::dockerfile::checks {

// One stage as written: its nodes, typed but not expanded, and, when the target needs it, the
// parsed stage with expanded values (its instructions parallel `raw`).
struct StageInput {
  const Node* from = nullptr;
  std::string name;  // lower case, "" when unnamed
  std::vector<const Node*> nodes;
  std::vector<Instruction> raw;
  const Stage* built = nullptr;
};

struct Input {
  const Dockerfile& df;
  const CheckOptions& options;
  std::vector<const Node*> meta_args;  // ARGs before the first FROM
  std::vector<StageInput> stages;      // every stage, in file order
};

using Emit = std::function<void(int line, std::string message)>;
using RuleFn = void (*)(const Input&, const Emit&);

struct RuleDef {
  CheckRule rule;
  RuleFn run;
};

// The table: name, description, URL and check function of every rule.
const std::vector<RuleDef>& ruleTable();

// Rules over the syntax (checks_syntax.cc).
void stageNameCasing(const Input& in, const Emit& emit);
void fromAsCasing(const Input& in, const Emit& emit);
void consistentInstructionCasing(const Input& in, const Emit& emit);
void duplicateStageName(const Input& in, const Emit& emit);
void reservedStageName(const Input& in, const Emit& emit);
void maintainerDeprecated(const Input& in, const Emit& emit);
void exposeProtoCasing(const Input& in, const Emit& emit);
void exposeInvalidFormat(const Input& in, const Emit& emit);
void jsonArgsRecommended(const Input& in, const Emit& emit);
void multipleInstructionsDisallowed(const Input& in, const Emit& emit);
void legacyKeyValueFormat(const Input& in, const Emit& emit);
void secretsUsedInArgOrEnv(const Input& in, const Emit& emit);
void workdirRelativePath(const Input& in, const Emit& emit);

// Rules over variables (checks_vars.cc).
void undefinedArgInFrom(const Input& in, const Emit& emit);
void invalidDefaultArgInFrom(const Input& in, const Emit& emit);
void fromPlatformFlagConstDisallowed(const Input& in, const Emit& emit);
void redundantTargetPlatform(const Input& in, const Emit& emit);
void undefinedVar(const Input& in, const Emit& emit);

// Helpers shared by both files.
std::string goQuote(std::string_view s);  // Go's %q for the strings rules print
// The variables a word refers to, in order of first reference, as BuildKit's lexer looks them up
// ($v, ${v}, ${v:-w} and the names inside w, ...). Single quotes and escapes hide a `$`.
std::vector<std::string> variableRefs(std::string_view word, char escape, bool skip_quotes = false);
// The closest name within an edit distance of 2, case-sensitive; "" when none is close.
std::string closestName(std::string_view value, const std::vector<std::string>& options);
// Index into Input::stages of the stage a parsed stage came from.
const StageInput* stageOf(const Input& in, const Stage& st);

}  // namespace hull::dockerfile::checks
