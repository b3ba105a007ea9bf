// UndefinedVar: a variable an instruction expands that no ENV or ARG defined before it. BuildKit
// looks the names up in the stage's environment: the base image's Env (with PATH always set),
// then ENV and ARG values, and ARG names declared without one. An image's Env is known only
// through CheckOptions::base_image_env; without it, stages on images are left unchecked.
#include <algorithm>
#include <optional>
#include <set>

#include "dockerfile/checks_rules.h"
#include "dockerfile/text.h"

namespace hull::dockerfile::checks {
namespace {

struct Scope {
  bool known = false;
  std::vector<std::string> env;  // names with a value, in the order they were set (suggestions)
  std::set<std::string> env_names;
  std::set<std::string> defined;  // env plus ARGs declared without a value

  void set(const std::string& name) {
    if (env_names.insert(name).second) env.push_back(name);
    defined.insert(name);
  }
};

// Words of an instruction BuildKit expands and whose unknown names it reports.
struct Words {
  std::vector<std::string> plain;
  std::vector<std::string> raw;  // heredoc bodies: quotes are ordinary characters
};

Words expandedWords(const Instruction& ins) {
  Words w;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, EnvInstr>) {
          for (const auto& kv : b.vars) w.plain.insert(w.plain.end(), {kv.key, kv.value});
        } else if constexpr (std::is_same_v<T, Label>) {
          for (const auto& kv : b.labels) w.plain.insert(w.plain.end(), {kv.key, kv.value});
        } else if constexpr (std::is_same_v<T, Copy>) {
          w.plain.push_back(b.chown);
          if (b.add) w.plain.push_back(b.checksum);
          w.plain.insert(w.plain.end(), b.sources.begin(), b.sources.end());
          w.plain.push_back(b.dest);
          for (const auto& doc : b.inline_sources) {
            if (doc.expand) w.raw.push_back(doc.content);
          }
        } else if constexpr (std::is_same_v<T, Workdir>) {
          w.plain.push_back(b.path);
        } else if constexpr (std::is_same_v<T, User>) {
          w.plain.push_back(b.user);
        } else if constexpr (std::is_same_v<T, StopSignal>) {
          w.plain.push_back(b.signal);
        } else if constexpr (std::is_same_v<T, Volume>) {
          w.plain.insert(w.plain.end(), b.paths.begin(), b.paths.end());
        }
      },
      ins.body);
  return w;
}

bool reportable(const std::string& name) {
  // Build arguments BuildKit reads itself and never puts in the environment.
  return name != "BUILDKIT_SBOM_SCAN_CONTEXT" && name != "BUILDKIT_SBOM_SCAN_STAGE";
}

void report(const Scope& scope, const std::vector<std::string>& refs, int line,
            std::set<std::string>* seen, const Emit& emit) {
  for (const auto& r : refs) {
    if (scope.defined.count(r) || !reportable(r)) continue;
    if (!seen->insert(r).second) continue;
    std::string msg = "Usage of undefined variable '$" + r + "'";
    if (auto s = closestName(r, scope.env); !s.empty()) msg += " (did you mean $" + s + "?)";
    emit(line, msg);
  }
}

// Stages copy their base stage's names; past this many copied in all, later stages go unchecked,
// so that hostile files with many names and many stages cannot make the checks quadratic.
constexpr std::size_t kMaxInheritedNames = 1u << 20;

Scope initialScope(const Input& in, const Stage& st, const std::vector<Scope>& done,
                   std::size_t* inherited) {
  Scope scope;
  if (st.base_stage) {
    const Scope& base = done[*st.base_stage];
    *inherited += base.defined.size() + 2 * base.env.size();
    if (*inherited > kMaxInheritedNames) return scope;
    return base;
  }
  if (asciiLower(st.base) != "scratch") {
    if (!in.options.base_image_env) return scope;
    auto env = in.options.base_image_env(st.base);
    if (!env) return scope;
    for (const auto& kv : *env) {
      std::size_t eq = kv.find('=');
      if (eq != 0) scope.set(kv.substr(0, eq));
    }
  }
  scope.known = true;
  scope.set("PATH");  // BuildKit sets it when the image does not
  return scope;
}

// ARG declarations one at a time: a value may use the ARGs before it on the same line.
void dispatchArg(const Input& in, const Arg& raw, const Arg& built, int line, Scope& scope,
                 const Emit& emit) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < raw.args.size(); ++i) {
    const auto& d = raw.args[i];
    if (d.value && scope.known) {
      report(scope, variableRefs(*d.value, in.df.escape), line, &seen, emit);
    }
    scope.defined.insert(d.name);
    if (i < built.args.size() && built.args[i].value) scope.set(d.name);
  }
}

void dispatch(const Input& in, const Instruction& raw, const Instruction& built, Scope& scope,
              const Emit& emit) {
  if (auto* a = std::get_if<Arg>(&raw.body)) {
    dispatchArg(in, *a, std::get<Arg>(built.body), raw.range.start, scope, emit);
    return;
  }
  if (scope.known) {
    // Every word sees the variables from before the instruction: `ENV A=1 B=$A` does not
    // define B from A.
    Words words = expandedWords(raw);
    std::set<std::string> seen;
    for (const auto& w : words.plain) {
      report(scope, variableRefs(w, in.df.escape), raw.range.start, &seen, emit);
    }
    for (const auto& w : words.raw) {
      report(scope, variableRefs(w, '\\', true), raw.range.start, &seen, emit);
    }
  }
  if (auto* e = std::get_if<EnvInstr>(&built.body)) {
    for (const auto& kv : e->vars) scope.set(kv.key);
  }
}

}  // namespace

void undefinedVar(const Input& in, const Emit& emit) {
  std::vector<Scope> done(in.stages.size());
  std::size_t inherited = 0;
  for (const auto& st : in.stages) {
    if (!st.built) continue;
    Scope scope = initialScope(in, *st.built, done, &inherited);
    for (std::size_t i = 0; i < st.raw.size(); ++i) {
      dispatch(in, st.raw[i], st.built->instructions[i], scope, emit);
    }
    done[st.built->index] = std::move(scope);
  }
}

}  // namespace hull::dockerfile::checks
