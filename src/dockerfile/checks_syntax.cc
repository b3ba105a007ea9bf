// Build checks over the syntax of the file: casing, stage names, deprecated and legacy forms,
// and the dispatch-time rules that need no variable expansion of their own. Messages are
// BuildKit's (frontend/dockerfile/linter/ruleset.go), word for word.
#include <algorithm>
#include <set>

#include "dockerfile/checks_rules.h"
#include "dockerfile/text.h"

namespace hull::dockerfile::checks {
namespace {

bool isLower(std::string_view s) { return asciiLower(s) == s; }
bool isUpper(std::string_view s) { return asciiUpper(s) == s; }

// Every FROM and stage instruction; ARGs before the first FROM are not part of any stage.
template <class F>
void eachStageNode(const Input& in, F&& f) {
  for (const auto& st : in.stages) {
    f(*st.from);
    for (const Node* n : st.nodes) f(*n);
  }
}

// The stages the target needs, with their instructions as written and as parsed.
template <class F>
void eachBuiltStage(const Input& in, F&& f) {
  for (const auto& st : in.stages) {
    if (st.built) f(st);
  }
}

// Any '_'-separated part of `key` is one of `words`, case-insensitively: BuildKit's
// `(?i)(?:_|^)(?:w1|w2)(?:_|$)`.
bool hasPart(std::string_view key, std::initializer_list<std::string_view> words) {
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('_', start);
    if (end == std::string_view::npos) end = key.size();
    std::string part = asciiLower(key.substr(start, end - start));
    for (auto w : words) {
      if (part == w) return true;
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

void stageNameCasing(const Input& in, const Emit& emit) {
  for (const auto& st : in.stages) {
    const auto& args = st.from->args;
    if (args.size() == 3 && !isLower(args[2])) {
      emit(st.from->range.start, "Stage name '" + args[2] + "' should be lowercase");
    }
  }
}

void fromAsCasing(const Input& in, const Emit& emit) {
  for (const auto& st : in.stages) {
    const Node& n = *st.from;
    if (n.args.size() < 3) continue;
    // A FROM in mixed case is ConsistentInstructionCasing's to report.
    bool lower = isLower(n.keyword), upper = isUpper(n.keyword);
    if (!lower && !upper) continue;
    bool match = lower ? isLower(n.args[1]) : isUpper(n.args[1]);
    if (!match) {
      emit(n.range.start,
           "'" + n.args[1] + "' and '" + n.keyword + "' keywords' casing do not match");
    }
  }
}

void consistentInstructionCasing(const Input& in, const Emit& emit) {
  int lower = 0, upper = 0;
  eachStageNode(in, [&](const Node& n) {
    if (isLower(n.keyword))
      ++lower;
    else if (isUpper(n.keyword))
      ++upper;
  });
  bool majority_lower = lower > upper;
  eachStageNode(in, [&](const Node& n) {
    const char* want = nullptr;
    if (majority_lower && !isLower(n.keyword)) want = "lowercase";
    if (!majority_lower && !isUpper(n.keyword)) want = "uppercase";
    if (want) {
      emit(n.range.start, "Command '" + n.keyword +
                              "' should match the case of the command majority (" + want + ")");
    }
  });
}

void duplicateStageName(const Input& in, const Emit& emit) {
  // The parser refuses a duplicate name; the rule stays for files checked without building.
  std::set<std::string> seen;
  for (const auto& st : in.stages) {
    if (st.name.empty()) continue;
    if (!seen.insert(st.name).second) {
      emit(st.from->range.start,
           "Duplicate stage name " + goQuote(st.name) + ", stage names should be unique");
    }
  }
}

void reservedStageName(const Input& in, const Emit& emit) {
  for (const auto& st : in.stages) {
    if (st.name == "scratch" || st.name == "context") {
      emit(st.from->range.start,
           "Stage name should not use the same name as reserved stage " + goQuote(st.name));
    }
  }
}

void maintainerDeprecated(const Input& in, const Emit& emit) {
  eachStageNode(in, [&](const Node& n) {
    if (equalsIgnoreCase(n.keyword, "MAINTAINER")) {
      emit(n.range.start, "Maintainer instruction is deprecated in favor of using label");
    }
  });
}

// EXPOSE words as written; those with variables are left alone (their value is known only
// after expansion, which hull normalizes).
template <class F>
void eachExposeWord(const Input& in, F&& f) {
  eachBuiltStage(in, [&](const StageInput& st) {
    for (const Node* n : st.nodes) {
      if (!equalsIgnoreCase(n->keyword, "EXPOSE")) continue;
      for (const auto& word : n->args) {
        if (word.find('$') == std::string::npos) f(*n, word);
      }
    }
  });
}

void exposeProtoCasing(const Input& in, const Emit& emit) {
  eachExposeWord(in, [&](const Node& n, const std::string& word) {
    std::size_t slash = word.rfind('/');
    if (slash == std::string::npos) return;
    if (!isLower(word.substr(slash + 1))) {
      emit(n.range.start,
           "Defined protocol '" + word + "' in EXPOSE instruction should be lowercase");
    }
  });
}

void exposeInvalidFormat(const Input& in, const Emit& emit) {
  eachExposeWord(in, [&](const Node& n, const std::string& word) {
    std::string_view port = word;
    port = port.substr(0, port.find('/'));
    if (port.find(':') != std::string_view::npos) {
      emit(n.range.start,
           "EXPOSE instruction should not define an IP address or host-port mapping, found '" +
               word + "'");
    }
  });
}

void jsonArgsRecommended(const Input& in, const Emit& emit) {
  // A SHELL instruction means the shell form is chosen knowingly; a stage inherits its base
  // stage's SHELL. An image's own Shell is not known here and taken as unset.
  std::vector<char> has_shell(in.stages.size(), 0);
  eachBuiltStage(in, [&](const StageInput& st) {
    bool shell = st.built->base_stage && has_shell[*st.built->base_stage];
    for (std::size_t i = 0; i < st.raw.size(); ++i) {
      const auto& ins = st.raw[i];
      if (std::holds_alternative<Shell>(ins.body)) shell = true;
      const CommandLine* cmd = nullptr;
      if (auto* c = std::get_if<Cmd>(&ins.body)) cmd = &c->command;
      if (auto* e = std::get_if<Entrypoint>(&ins.body)) cmd = &e->command;
      if (cmd && cmd->shell_form && !shell) {
        emit(ins.range.start, "JSON arguments recommended for " + st.nodes[i]->keyword +
                                  " to prevent unintended behavior related to OS signals");
      }
    }
    has_shell[st.built->index] = shell;
  });
}

void multipleInstructionsDisallowed(const Input& in, const Emit& emit) {
  eachBuiltStage(in, [&](const StageInput& st) {
    // The earlier instruction is reported: it is the one that has no effect.
    int last_cmd = 0, last_entrypoint = 0, last_health = 0;
    for (std::size_t i = 0; i < st.raw.size(); ++i) {
      const auto& ins = st.raw[i];
      int* last = nullptr;
      if (std::holds_alternative<Cmd>(ins.body)) last = &last_cmd;
      if (std::holds_alternative<Entrypoint>(ins.body)) last = &last_entrypoint;
      if (std::holds_alternative<Healthcheck>(ins.body)) last = &last_health;
      if (!last) continue;
      if (*last != 0) {
        emit(*last, "Multiple " + st.nodes[i]->keyword +
                        " instructions should not be used in the same stage because only the "
                        "last one will be used");
      }
      *last = ins.range.start;
    }
  });
}

void legacyKeyValueFormat(const Input& in, const Emit& emit) {
  eachBuiltStage(in, [&](const StageInput& st) {
    for (const Node* n : st.nodes) {
      if (!equalsIgnoreCase(n->keyword, "ENV") && !equalsIgnoreCase(n->keyword, "LABEL")) continue;
      // The line parser gives (key, value, delimiter) triples; the legacy form has no '='.
      for (std::size_t i = 2; i < n->args.size(); i += 3) {
        if (n->args[i].empty()) {
          emit(n->range.start, "\"" + n->keyword +
                                   " key=value\" should be used instead of legacy \"" + n->keyword +
                                   " key value\" format");
        }
      }
    }
  });
}

void secretsUsedInArgOrEnv(const Input& in, const Emit& emit) {
  auto check = [&](const Instruction& ins, const char* kw, const std::string& key) {
    bool secret = hasPart(key, {"apikey", "auth", "credential", "credentials", "key", "password",
                                "pword", "passwd", "secret", "token"});
    if (secret && !hasPart(key, {"public"})) {
      emit(ins.range.start, std::string("Do not use ARG or ENV instructions for sensitive data (") +
                                kw + " " + goQuote(key) + ")");
    }
  };
  eachBuiltStage(in, [&](const StageInput& st) {
    // ENV keys after expansion, as BuildKit sees them.
    for (const auto& ins : st.built->instructions) {
      if (auto* e = std::get_if<EnvInstr>(&ins.body)) {
        for (const auto& kv : e->vars) check(ins, "ENV", kv.key);
      }
      if (auto* a = std::get_if<Arg>(&ins.body)) {
        for (const auto& d : a->args) check(ins, "ARG", d.name);
      }
    }
  });
}

void workdirRelativePath(const Input& in, const Emit& emit) {
  // Only the first WORKDIR of a build chain matters: fixing it fixes the ones after it. An
  // image's own WorkingDir does not count, as it may change.
  std::vector<char> set(in.stages.size(), 0);
  eachBuiltStage(in, [&](const StageInput& st) {
    bool workdir_set = st.built->base_stage && set[*st.built->base_stage];
    for (const auto& ins : st.built->instructions) {
      auto* w = std::get_if<Workdir>(&ins.body);
      if (!w) continue;
      if (!workdir_set && !w->path.starts_with('/')) {
        emit(ins.range.start, "Relative workdir " + goQuote(w->path) +
                                  " can have unexpected results if the base image changes");
      }
      workdir_set = true;
    }
    set[st.built->index] = workdir_set;
  });
}

}  // namespace hull::dockerfile::checks
