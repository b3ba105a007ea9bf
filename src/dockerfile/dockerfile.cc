#include "dockerfile/dockerfile.h"

#include <algorithm>
#include <map>
#include <set>

#include "dockerfile/lexer.h"
#include "dockerfile/text.h"
#include "dockerfile/values.h"

namespace hull::dockerfile {
namespace {

// Stages inherit their base stage's ENV by copy; cap the total so that hostile files with many
// variables and many stages cannot make that quadratic.
constexpr std::size_t kMaxInheritedVars = 1u << 20;

std::string platformString(const oci::Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

Env platformArgs(const ParseOptions& opt) {
  oci::Platform build = opt.build_platform.value_or(oci::hostPlatform());
  oci::Platform target = opt.target_platform.value_or(build);
  return Env{{"BUILDPLATFORM", platformString(build)},   {"BUILDOS", build.os},
             {"BUILDARCH", build.architecture},          {"BUILDVARIANT", build.variant},
             {"TARGETPLATFORM", platformString(target)}, {"TARGETOS", target.os},
             {"TARGETARCH", target.architecture},        {"TARGETVARIANT", target.variant}};
}

// The variables one stage sees while its instructions are processed.
struct StageEnv {
  Env vars;                        // what expansion sees
  Env image;                       // ENV only: what a stage built FROM this one inherits
  std::set<std::string> from_env;  // names ENV set: a later ARG does not override them
};

struct Builder {
  const ParseOptions& opt;
  Lexer lexer;
  Env global_env;  // platform args and global ARGs with values
  std::vector<Stage> stages;
  std::vector<Env> final_image_env;
  std::map<std::string, int> by_name;  // stage name → index
  std::set<std::string> consumed;      // build args some ARG used
  std::size_t inherited = 0;

  Error at(const Instruction& i, const Error& e) const {
    return locatedError(opt.file, i.range.start, e.message);
  }
  Result<std::string> word(const std::string& w, const Env& env) const {
    return lexer.processWord(w, env);
  }
};

bool isInteger(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && s.size() <= 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A --from value: a stage index, a stage name, or else an image reference (nullopt).
Result<std::optional<int>> resolveFrom(Builder& b, const std::string& ref, int self) {
  if (isInteger(ref)) {
    long long idx = std::stoll(ref);
    if (idx < 0 || idx >= static_cast<long long>(b.stages.size())) {
      return fail(Errc::kInvalidArgument, "invalid stage index " + ref);
    }
    if (idx == self) {
      return fail(Errc::kInvalidArgument, "circular dependency detected on stage: " + ref);
    }
    return std::optional<int>(static_cast<int>(idx));
  }
  std::string lower = asciiLower(ref);
  if (auto it = b.by_name.find(lower); it != b.by_name.end()) {
    if (it->second == self) {
      return fail(Errc::kInvalidArgument, "circular dependency detected on stage: " + lower);
    }
    return std::optional<int>(it->second);
  }
  return std::optional<int>();  // an image reference
}

Result<void> expandCopy(Builder& b, Copy& c, const Env& env, Stage& st) {
  for (auto& s : c.sources) {
    HULL_ASSIGN_OR_RETURN(s, b.word(s, env));
  }
  HULL_ASSIGN_OR_RETURN(c.dest, b.word(c.dest, env));
  HULL_ASSIGN_OR_RETURN(c.chown, b.word(c.chown, env));
  HULL_ASSIGN_OR_RETURN(c.chmod, b.word(c.chmod, env));
  HULL_ASSIGN_OR_RETURN(c.from, b.word(c.from, env));
  HULL_ASSIGN_OR_RETURN(c.checksum, b.word(c.checksum, env));
  for (auto& e : c.excludes) {
    HULL_ASSIGN_OR_RETURN(e, b.word(e, env));
  }
  LexOptions body_opt;
  body_opt.skip_quotes = true;
  Lexer body_lexer(body_opt);
  for (auto& doc : c.inline_sources) {
    if (doc.expand) {
      HULL_ASSIGN_OR_RETURN(doc.content, body_lexer.processWord(doc.content, env));
    }
  }
  HULL_TRY(validateChmod(c.chmod));
  HULL_TRY(validateChecksum(c.checksum));
  if (!c.from.empty()) {
    HULL_ASSIGN_OR_RETURN(c.from_stage, resolveFrom(b, c.from, st.index));
    if (c.from_stage) st.depends_on.push_back(*c.from_stage);
  }
  return {};
}

Result<void> expandRun(Builder& b, Run& r, const Env& env, Stage& st) {
  for (const auto& spec : r.mount_specs) {
    HULL_ASSIGN_OR_RETURN(Mount m,
                          parseMount(spec, [&](const std::string& w) { return b.word(w, env); }));
    if (!m.from.empty()) {
      HULL_ASSIGN_OR_RETURN(m.from_stage, resolveFrom(b, m.from, st.index));
      if (m.from_stage) st.depends_on.push_back(*m.from_stage);
    }
    r.mounts.push_back(std::move(m));
  }
  return {};
}

Result<void> expandPairs(Builder& b, std::vector<KeyValue>& kvs, const Env& env) {
  for (auto& kv : kvs) {
    HULL_ASSIGN_OR_RETURN(kv.key, b.word(kv.key, env));
    HULL_ASSIGN_OR_RETURN(kv.value, b.word(kv.value, env));
  }
  return {};
}

Result<void> dispatchArg(Builder& b, Arg& a, StageEnv& se) {
  for (auto& d : a.args) {
    auto given = b.opt.build_args.find(d.name);
    if (given != b.opt.build_args.end()) {
      d.value = given->second;
      b.consumed.insert(d.name);
    } else if (d.value) {
      HULL_ASSIGN_OR_RETURN(*d.value, b.word(*d.value, se.vars));
    } else if (auto g = b.global_env.find(d.name); g != b.global_env.end()) {
      d.value = g->second;
    }
    if (d.value && !se.from_env.count(d.name)) se.vars[d.name] = *d.value;
  }
  return {};
}

Result<void> dispatchEnv(Builder& b, EnvInstr& e, StageEnv& se) {
  HULL_TRY(expandPairs(b, e.vars, se.vars));
  for (const auto& kv : e.vars) {
    se.vars[kv.key] = kv.value;
    se.image[kv.key] = kv.value;
    se.from_env.insert(kv.key);
  }
  return {};
}

Result<void> expandList(Builder& b, std::vector<std::string>& list, const Env& env) {
  for (auto& s : list) {
    HULL_ASSIGN_OR_RETURN(s, b.word(s, env));
  }
  return {};
}

// Expands one instruction in place, as Docker does at dispatch, and updates the stage's variables.
Result<void> dispatch(Builder& b, Instruction& ins, StageEnv& se, Stage& st) {
  const Env& env = se.vars;
  return std::visit(
      [&](auto& body) -> Result<void> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, Run>) return expandRun(b, body, env, st);
        if constexpr (std::is_same_v<T, Copy>) return expandCopy(b, body, env, st);
        if constexpr (std::is_same_v<T, Arg>) return dispatchArg(b, body, se);
        if constexpr (std::is_same_v<T, EnvInstr>) return dispatchEnv(b, body, se);
        if constexpr (std::is_same_v<T, Label>) return expandPairs(b, body.labels, env);
        if constexpr (std::is_same_v<T, Expose>) {
          std::vector<std::string> ports;
          for (const auto& p : body.ports) {
            HULL_ASSIGN_OR_RETURN(auto words, b.lexer.processWords(p, env));
            for (const auto& w : words) {
              HULL_ASSIGN_OR_RETURN(std::string n, normalizePort(w));
              ports.push_back(std::move(n));
            }
          }
          body.ports = std::move(ports);
        }
        if constexpr (std::is_same_v<T, Volume>) {
          HULL_TRY(expandList(b, body.paths, env));
          for (const auto& p : body.paths) {
            if (trim(p).empty()) {
              return fail(Errc::kInvalidArgument, "VOLUME specified can not be an empty string");
            }
          }
        }
        if constexpr (std::is_same_v<T, User>) {
          HULL_ASSIGN_OR_RETURN(body.user, b.word(body.user, env));
        }
        if constexpr (std::is_same_v<T, Workdir>) {
          HULL_ASSIGN_OR_RETURN(body.path, b.word(body.path, env));
        }
        if constexpr (std::is_same_v<T, StopSignal>) {
          HULL_ASSIGN_OR_RETURN(body.signal, b.word(body.signal, env));
          HULL_TRY(validateSignal(body.signal));
        }
        return {};
      },
      ins.body);
}

Result<void> resolveGlobalArgs(Builder& b, std::vector<Instruction>& meta,
                               std::vector<GlobalArg>* out) {
  for (auto& ins : meta) {
    for (auto& d : std::get<Arg>(ins.body).args) {
      auto given = b.opt.build_args.find(d.name);
      if (given != b.opt.build_args.end()) {
        d.value = given->second;
        b.consumed.insert(d.name);
      } else if (d.value) {
        auto v = b.word(*d.value, b.global_env);
        if (!v) return fail(b.at(ins, v.error()));
        d.value = *v;
      }
      if (d.value)
        b.global_env[d.name] = *d.value;
      else
        b.global_env.erase(d.name);
      out->push_back({d.name, d.value, ins.range.start});
    }
  }
  return {};
}

Result<Stage> openStage(Builder& b, const Instruction& ins) {
  const auto& from = std::get<From>(ins.body);
  Stage st;
  st.index = static_cast<int>(b.stages.size());
  st.name = from.stage_name;
  st.range = ins.range;
  auto base = b.word(from.image, b.global_env);
  if (!base) return fail(b.at(ins, base.error()));
  if (base->empty()) {
    return fail(b.at(
        ins, Error{Errc::kInvalidArgument, "base name (" + from.image + ") should not be blank"}));
  }
  st.base = *base;
  auto platform = b.word(from.platform, b.global_env);
  if (!platform) return fail(b.at(ins, platform.error()));
  st.platform = *platform;
  // FROM names only earlier stages: "FROM alpine AS alpine" means the image.
  if (auto it = b.by_name.find(asciiLower(st.base)); it != b.by_name.end()) {
    st.base_stage = it->second;
  }
  if (!st.name.empty() && !b.by_name.emplace(st.name, st.index).second) {
    return fail(
        b.at(ins, Error{Errc::kInvalidArgument, "duplicate stage name \"" + st.name + "\""}));
  }
  if (st.base_stage) st.depends_on.push_back(*st.base_stage);
  return st;
}

Result<void> buildStage(Builder& b, Stage& st) {
  StageEnv se;
  if (st.base_stage) {
    se.image = b.final_image_env[*st.base_stage];
    b.inherited += se.image.size();
    if (b.inherited > kMaxInheritedVars) {
      return fail(
          locatedError(b.opt.file, st.range.start, "too many inherited variables across stages"));
    }
    se.vars = se.image;
    for (const auto& [k, v] : se.image) se.from_env.insert(k);
  } else if (b.opt.base_image_env && asciiLower(st.base) != "scratch") {
    auto env = b.opt.base_image_env(st.base);
    if (!env) return fail(locatedError(b.opt.file, st.range.start, env.error().message));
    for (const auto& kv : *env) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      se.image[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    se.vars = se.image;
    for (const auto& [k, v] : se.image) se.from_env.insert(k);
  }
  for (auto& ins : st.instructions) {
    if (auto r = dispatch(b, ins, se, st); !r) return fail(b.at(ins, r.error()));
  }
  std::sort(st.depends_on.begin(), st.depends_on.end());
  st.depends_on.erase(std::unique(st.depends_on.begin(), st.depends_on.end()), st.depends_on.end());
  b.final_image_env[st.index] = std::move(se.image);
  return {};
}

std::string stageLabel(const Stage& s) { return s.name.empty() ? std::to_string(s.index) : s.name; }

// Iterative DFS with colours: a grey node met again closes a cycle.
bool hasCycle(const std::vector<Stage>& stages) {
  std::vector<int> colour(stages.size(), 0);
  for (std::size_t root = 0; root < stages.size(); ++root) {
    if (colour[root] != 0) continue;
    std::vector<std::pair<int, std::size_t>> stack{{static_cast<int>(root), 0}};
    colour[root] = 1;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& deps = stages[node].depends_on;
      if (next == deps.size()) {
        colour[node] = 2;
        stack.pop_back();
        continue;
      }
      int dep = deps[next++];
      if (colour[dep] == 1) return true;
      if (colour[dep] == 0) {
        colour[dep] = 1;
        stack.push_back({dep, 0});
      }
    }
  }
  return false;
}

}  // namespace

bool isProxyArg(std::string_view name) {
  static const std::set<std::string, std::less<>> kNames = {
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
  return kNames.count(name) > 0;
}

Result<Dockerfile> parse(std::string_view text, const ParseOptions& options) {
  HULL_ASSIGN_OR_RETURN(Ast ast, parseAst(text, options.file));
  Dockerfile df;
  df.file = options.file;
  df.directives = ast.directives;
  df.escape = ast.escape;
  df.warnings = ast.warnings;

  // 1. Type every node; ARGs before the first FROM are global.
  LexOptions lex;
  lex.escape = ast.escape;
  Builder b{options, Lexer(lex), platformArgs(options), {}, {}, {}, {}, 0};
  std::vector<Instruction> meta;
  std::vector<Instruction> froms;
  std::vector<std::vector<Instruction>> bodies;
  for (const Node& node : ast.nodes) {
    HULL_ASSIGN_OR_RETURN(Instruction ins, parseInstruction(node, options.file));
    if (std::holds_alternative<From>(ins.body)) {
      froms.push_back(std::move(ins));
      bodies.emplace_back();
    } else if (froms.empty() && std::holds_alternative<Arg>(ins.body)) {
      meta.push_back(std::move(ins));
    } else if (froms.empty()) {
      return fail(locatedError(
          options.file, ins.range.start,
          "no build stage in current context (" + ins.keyword + " needs a FROM before it)"));
    } else {
      bodies.back().push_back(std::move(ins));
    }
  }
  if (froms.empty()) {
    return fail(locatedError(options.file, ast.nodes.back().range.start,
                             "dockerfile contains no stages to build (add a FROM)"));
  }

  // 2. Global ARGs, then stage headers (FROM sees only global ARGs), then stage bodies.
  HULL_TRY(resolveGlobalArgs(b, meta, &df.global_args));
  for (std::size_t i = 0; i < froms.size(); ++i) {
    HULL_ASSIGN_OR_RETURN(Stage st, openStage(b, froms[i]));
    st.instructions = std::move(bodies[i]);
    b.stages.push_back(std::move(st));
  }
  b.final_image_env.resize(b.stages.size());
  for (auto& st : b.stages) HULL_TRY(buildStage(b, st));

  // 3. Stage references must not form a cycle (COPY --from may name a later stage).
  if (hasCycle(b.stages)) {
    // Report the first stage on a cycle: one that can reach itself.
    for (const auto& st : b.stages) {
      std::vector<int> todo(st.depends_on.begin(), st.depends_on.end());
      std::vector<char> seen(b.stages.size(), 0);
      bool cyclic = false;
      while (!todo.empty() && !cyclic) {
        int n = todo.back();
        todo.pop_back();
        if (n == st.index) cyclic = true;
        if (seen[n]++) continue;
        todo.insert(todo.end(), b.stages[n].depends_on.begin(), b.stages[n].depends_on.end());
      }
      if (cyclic) {
        return fail(locatedError(options.file, st.range.start,
                                 "circular dependency detected on stage: " + stageLabel(st)));
      }
    }
  }

  // 4. The target and the stages it needs.
  int target = static_cast<int>(b.stages.size()) - 1;
  if (!options.target.empty()) {
    std::string want = asciiLower(options.target);
    auto it = std::find_if(b.stages.begin(), b.stages.end(),
                           [&](const Stage& s) { return s.name == want; });
    if (it == b.stages.end()) {
      std::vector<std::string> names;
      for (const auto& s : b.stages) {
        if (!s.name.empty()) names.push_back(s.name);
      }
      std::string msg = "target stage \"" + options.target + "\" could not be found";
      if (auto s = suggest(want, names); !s.empty()) msg += " (did you mean " + s + "?)";
      return fail(Errc::kNotFound, options.file + ": " + msg);
    }
    target = it->index;
  }
  std::vector<char> needed(b.stages.size(), 0);
  std::vector<int> todo{target};
  while (!todo.empty()) {
    int n = todo.back();
    todo.pop_back();
    if (needed[n]++) continue;
    todo.insert(todo.end(), b.stages[n].depends_on.begin(), b.stages[n].depends_on.end());
  }
  for (auto& st : b.stages) {
    if (needed[st.index]) df.stages.push_back(std::move(st));
  }
  df.target = target;

  // 5. Build args: the predefined proxy ones go to RUN; others nothing used are reported.
  std::vector<std::string> unused;
  for (const auto& [k, v] : options.build_args) {
    if (isProxyArg(k))
      df.proxy_args[k] = v;
    else if (!b.consumed.count(k))
      unused.push_back(k);
  }
  if (!unused.empty()) {
    std::string msg = "build arguments not consumed by any ARG:";
    for (const auto& u : unused) msg += " " + u;
    df.warnings.push_back({0, msg});
  }
  return df;
}

}  // namespace hull::dockerfile
