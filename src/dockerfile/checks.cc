// Build checks (checks.h): the rule table, the `# check=` directive and the walk that hands every
// rule the stages both as written and as parsed. The rules live in checks_syntax.cc and
// checks_vars.cc.
#include "dockerfile/checks.h"

#include <algorithm>
#include <set>

#include "dockerfile/checks_rules.h"
#include "dockerfile/text.h"

namespace hull::dockerfile {
namespace checks {
namespace {

constexpr std::string_view kRuleUrl = "https://docs.docker.com/go/dockerfile/rule/";

RuleDef def(std::string name, std::string page, std::string description, RuleFn fn) {
  return RuleDef{{std::move(name), std::move(description), std::string(kRuleUrl) + page + "/"}, fn};
}

}  // namespace

const std::vector<RuleDef>& ruleTable() {
  static const std::vector<RuleDef> table = {
      def("StageNameCasing", "stage-name-casing", "Stage names should be lowercase",
          stageNameCasing),
      def("FromAsCasing", "from-as-casing",
          "The 'as' keyword should match the case of the 'from' keyword", fromAsCasing),
      def("ConsistentInstructionCasing", "consistent-instruction-casing",
          "All commands within the Dockerfile should use the same casing (either upper or lower)",
          consistentInstructionCasing),
      def("DuplicateStageName", "duplicate-stage-name", "Stage names should be unique",
          duplicateStageName),
      def("ReservedStageName", "reserved-stage-name",
          "Reserved words should not be used as stage names", reservedStageName),
      def("JSONArgsRecommended", "json-args-recommended",
          "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related "
          "to OS signals",
          jsonArgsRecommended),
      def("MaintainerDeprecated", "maintainer-deprecated",
          "The MAINTAINER instruction is deprecated, use a label instead to define an image "
          "author",
          maintainerDeprecated),
      def("UndefinedArgInFrom", "undefined-arg-in-from", "FROM command must use declared ARGs",
          undefinedArgInFrom),
      def("WorkdirRelativePath", "workdir-relative-path",
          "Relative workdir without an absolute workdir declared within the build can have "
          "unexpected results if the base image changes",
          workdirRelativePath),
      def("UndefinedVar", "undefined-var", "Variables should be defined before their use",
          undefinedVar),
      def("MultipleInstructionsDisallowed", "multiple-instructions-disallowed",
          "Multiple instructions of the same type should not be used in the same stage",
          multipleInstructionsDisallowed),
      def("LegacyKeyValueFormat", "legacy-key-value-format",
          "Legacy key/value format with whitespace separator should not be used",
          legacyKeyValueFormat),
      def("RedundantTargetPlatform", "redundant-target-platform",
          "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
          "default behavior",
          redundantTargetPlatform),
      def("SecretsUsedInArgOrEnv", "secrets-used-in-arg-or-env",
          "Sensitive data should not be used in the ARG or ENV commands", secretsUsedInArgOrEnv),
      def("InvalidDefaultArgInFrom", "invalid-default-arg-in-from",
          "Default value for global ARG results in an empty or invalid base image name",
          invalidDefaultArgInFrom),
      def("FromPlatformFlagConstDisallowed", "from-platform-flag-const-disallowed",
          "FROM --platform flag should not use a constant value", fromPlatformFlagConstDisallowed),
      def("ExposeProtoCasing", "expose-proto-casing",
          "Protocol in EXPOSE instruction should be lowercase", exposeProtoCasing),
      def("ExposeInvalidFormat", "expose-invalid-format",
          "IP address and host-port mapping should not be used in EXPOSE instruction",
          exposeInvalidFormat),
  };
  return table;
}

const StageInput* stageOf(const Input& in, const Stage& st) {
  if (st.index < 0 || static_cast<std::size_t>(st.index) >= in.stages.size()) return nullptr;
  return &in.stages[st.index];
}

}  // namespace checks

namespace {

// Splits the file again into stages as written; `ast` must outlive the result.
checks::Input splitStages(const Dockerfile& df, const Ast& ast, const CheckOptions& options) {
  checks::Input in{df, options, {}, {}};
  for (const Node& node : ast.nodes) {
    bool is_from = equalsIgnoreCase(node.keyword, "FROM");
    if (is_from) {
      checks::StageInput st;
      st.from = &node;
      if (node.args.size() == 3) st.name = asciiLower(node.args[2]);
      in.stages.push_back(std::move(st));
      continue;
    }
    if (in.stages.empty()) {
      in.meta_args.push_back(&node);
      continue;
    }
    auto typed = parseInstruction(node, df.file);
    if (!typed) continue;  // cannot happen for text that parsed; a rule must never fail a build
    in.stages.back().nodes.push_back(&node);
    in.stages.back().raw.push_back(std::move(typed).value());
  }
  for (const Stage& st : df.stages) {
    if (st.index < 0 || static_cast<std::size_t>(st.index) >= in.stages.size()) continue;
    auto& mine = in.stages[st.index];
    // Parallel lists only: a mismatch would mean another text than the one parsed.
    if (mine.raw.size() == st.instructions.size()) mine.built = &st;
  }
  return in;
}

bool skipped(const CheckConfig& cfg, const std::string& rule) {
  return cfg.skip_all || std::find(cfg.skip.begin(), cfg.skip.end(), rule) != cfg.skip.end();
}

}  // namespace

const std::vector<CheckRule>& checkRules() {
  static const std::vector<CheckRule> rules = [] {
    std::vector<CheckRule> out;
    for (const auto& d : checks::ruleTable()) out.push_back(d.rule);
    return out;
  }();
  return rules;
}

Result<CheckConfig> checkConfig(const Dockerfile& df) {
  CheckConfig cfg;
  auto it = std::find_if(df.directives.begin(), df.directives.end(),
                         [](const Directive& d) { return d.name == "check"; });
  if (it == df.directives.end()) return cfg;
  std::string_view rest = trim(it->value);
  // BuildKit splits into at most three options; a fourth ';' stays in the last value.
  for (int n = 0; !rest.empty(); ++n) {
    std::size_t semi = n < 2 ? rest.find(';') : std::string_view::npos;
    std::string_view part = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return fail(Errc::kInvalidArgument, "invalid check option \"" + std::string(part) + "\"");
    }
    std::string key(trim(part.substr(0, eq)));
    std::string_view value = trim(part.substr(eq + 1));
    if (key == "skip") {
      if (value == "all") {
        cfg.skip_all = true;
        continue;
      }
      std::size_t start = 0;
      while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        cfg.skip.emplace_back(trim(value.substr(start, comma - start)));
        start = comma + 1;
      }
    } else if (key == "error") {
      // Go's strconv.ParseBool.
      static const std::set<std::string_view> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
      static const std::set<std::string_view> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
      if (kTrue.count(value)) {
        cfg.error = true;
      } else if (!kFalse.count(value)) {
        return fail(Errc::kInvalidArgument,
                    "failed to parse check option \"" + std::string(part) + "\"");
      }
    } else if (key != "experimental") {  // no rule here is experimental
      return fail(Errc::kInvalidArgument, "invalid check option \"" + key + "\"");
    }
  }
  return cfg;
}

std::vector<CheckWarning> runChecks(const Dockerfile& df, std::string_view text) {
  return runChecks(df, text, CheckOptions{});
}

std::vector<CheckWarning> runChecks(const Dockerfile& df, std::string_view text,
                                    const CheckOptions& options) {
  auto ast = parseAst(text, df.file);
  if (!ast) return {};
  // A malformed directive is the builder's to report (checkConfig); the checks still run.
  CheckConfig cfg = checkConfig(df).value_or(CheckConfig{});
  checks::Input in = splitStages(df, *ast, options);
  std::vector<CheckWarning> out;
  for (const auto& d : checks::ruleTable()) {
    if (skipped(cfg, d.rule.name)) continue;
    d.run(in, [&](int line, std::string message) {
      out.push_back({d.rule.name, line, std::move(message)});
    });
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const CheckWarning& a, const CheckWarning& b) { return a.line < b.line; });
  return out;
}

}  // namespace hull::dockerfile
