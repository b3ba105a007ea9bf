// Build checks over variables: ARGs in FROM, and variables used before any ENV or ARG defines
// them. References are found with a scanner that follows BuildKit's shell lexer (which records
// every name it looks up), so a check sees the same names an expansion would.
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "dockerfile/checks_rules.h"
#include "dockerfile/lexer.h"
#include "dockerfile/text.h"

namespace hull::dockerfile::checks {
namespace {

class RefScanner {
 public:
  RefScanner(std::string_view word, char escape, bool skip_quotes)
      : w_(word), escape_(escape), skip_quotes_(skip_quotes) {}

  std::vector<std::string> run() {
    word(0);
    return std::move(refs_);
  }

 private:
  bool more() const { return i_ < w_.size() && ok_; }

  void add(std::string name) {
    if (seen_.insert(name).second) refs_.push_back(std::move(name));
  }

  // Up to and past `stop` (0: the end).
  void word(char stop) {
    while (more()) {
      char ch = w_[i_];
      if (stop != 0 && ch == stop) {
        ++i_;
        return;
      }
      if (ch == '$') {
        dollar();
      } else if (!skip_quotes_ && ch == '\'') {
        std::size_t close = w_.find('\'', i_ + 1);
        i_ = close == std::string_view::npos ? w_.size() : close + 1;
      } else if (!skip_quotes_ && ch == '"') {
        doubleQuoted();
      } else {
        i_ += ch == escape_ ? 2 : 1;
      }
    }
  }

  void doubleQuoted() {
    ++i_;
    while (more()) {
      char ch = w_[i_];
      if (ch == '"') {
        ++i_;
        return;
      }
      if (ch == '$') {
        dollar();
        continue;
      }
      ++i_;
      if (ch == escape_ && i_ < w_.size() &&
          (w_[i_] == '"' || w_[i_] == '$' || w_[i_] == escape_)) {
        ++i_;
      }
    }
  }

  static bool special(char c) {
    return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
           c == '0';
  }
  static bool nameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
  }

  std::string name() {
    std::size_t start = i_;
    if (i_ < w_.size() && w_[i_] >= '0' && w_[i_] <= '9') {
      while (i_ < w_.size() && w_[i_] >= '0' && w_[i_] <= '9') ++i_;
      return std::string(w_.substr(start, i_ - start));
    }
    if (i_ < w_.size() && special(w_[i_])) return std::string(1, w_[i_++]);
    while (i_ < w_.size() && nameChar(w_[i_])) ++i_;
    return std::string(w_.substr(start, i_ - start));
  }

  void dollar() {
    ++i_;
    if (i_ >= w_.size() || w_[i_] != '{') {
      std::string n = name();
      if (!n.empty()) add(std::move(n));
      return;
    }
    ++i_;
    if (i_ >= w_.size() || w_[i_] == '{' || w_[i_] == '}' || w_[i_] == ':') {
      ok_ = false;  // a syntax error: the expansion itself fails, no rule to run
      return;
    }
    std::string n = name();
    if (i_ >= w_.size()) {
      ok_ = false;
      return;
    }
    char ch = w_[i_++];
    if (ch == ':' && i_ < w_.size()) ch = w_[i_++];
    if (ch == '/') {
      if (i_ < w_.size() && w_[i_] == '/') ++i_;
      word('/');
      word('}');
    } else if (ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
      word('}');
    } else if (ch != '}') {
      ok_ = false;
      return;
    }
    add(std::move(n));
  }

  std::string_view w_;
  char escape_;
  bool skip_quotes_;
  std::size_t i_ = 0;
  bool ok_ = true;
  std::vector<std::string> refs_;
  std::set<std::string> seen_;
};

// The build arguments BuildKit defines before any ARG (dockerfile2llb defaultArgs).
Env platformDefaults() {
  oci::Platform p = oci::hostPlatform();
  std::string platform = p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
  return Env{{"BUILDPLATFORM", platform},
             {"BUILDOS", p.os},
             {"BUILDOSVERSION", ""},
             {"BUILDARCH", p.architecture},
             {"BUILDVARIANT", p.variant},
             {"TARGETPLATFORM", platform},
             {"TARGETOS", p.os},
             {"TARGETOSVERSION", ""},
             {"TARGETARCH", p.architecture},
             {"TARGETVARIANT", p.variant},
             {"TARGETSTAGE", ""}};
}

// The ARGs before the first FROM as written.
std::vector<ArgDecl> metaArgs(const Input& in) {
  std::vector<ArgDecl> out;
  for (const Node* n : in.meta_args) {
    auto ins = parseInstruction(*n, in.df.file);
    if (!ins) continue;
    if (auto* a = std::get_if<Arg>(&ins->body))
      out.insert(out.end(), a->args.begin(), a->args.end());
  }
  return out;
}

// What FROM expands against in this build: the defaults and the global ARGs with a value.
Env globalEnv(const Input& in) {
  Env env = platformDefaults();
  for (const auto& g : in.df.global_args) {
    if (g.value) env[g.name] = *g.value;
  }
  return env;
}

std::optional<From> fromOf(const Input& in, const StageInput& st) {
  auto ins = parseInstruction(*st.from, in.df.file);
  if (!ins) return std::nullopt;
  return std::get<From>(ins->body);
}

std::vector<std::string> keysOf(const Env& env) {
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k);
  return out;
}

}  // namespace

std::string goQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::vector<std::string> variableRefs(std::string_view word, char escape, bool skip_quotes) {
  return RefScanner(word, escape, skip_quotes).run();
}

std::string closestName(std::string_view value, const std::vector<std::string>& options) {
  // Bounded work per lookup: hostile files may hold many names and many unknown ones.
  if (value.empty() || value.size() > 128 || options.size() > 4096) return "";
  std::string best;
  std::size_t score = 3;  // BuildKit's util/suggest: within distance 2
  for (const auto& o : options) {
    if (o == value) return "";
    if (o.size() > value.size() + 2 || value.size() > o.size() + 2) continue;
    std::size_t d = editDistance(value, o);
    if (d < score) {
      score = d;
      best = o;
    }
  }
  return best;
}

void undefinedArgInFrom(const Input& in, const Emit& emit) {
  std::vector<std::string> keys = keysOf(platformDefaults());
  for (const auto& a : metaArgs(in)) {
    if (std::find(keys.begin(), keys.end(), a.name) == keys.end()) keys.push_back(a.name);
  }
  std::sort(keys.begin(), keys.end());
  for (const auto& st : in.stages) {
    auto from = fromOf(in, st);
    if (!from) continue;
    // The base name first, then the platform, as BuildKit reports them.
    for (const std::string* word : {&from->image, &from->platform}) {
      auto refs = variableRefs(*word, in.df.escape);
      std::sort(refs.begin(), refs.end());
      for (const auto& r : refs) {
        if (std::binary_search(keys.begin(), keys.end(), r)) continue;
        std::string msg = "FROM argument '" + r + "' is not declared";
        if (auto s = closestName(r, keys); !s.empty()) msg += " (did you mean " + s + "?)";
        emit(st.from->range.start, msg);
      }
    }
  }
}

namespace {

// Docker's reference grammar (github.com/distribution/reference), which
// ParseNormalizedNamed checks a base name against.
bool validReference(const std::string& ref) {
  static const RE2 kRef(
      "(?:(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9]"
      "[a-zA-Z0-9-]*[a-zA-Z0-9]))*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?/)?"
      "([a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*)"
      "(?::[\\w][\\w.-]{0,127})?"
      "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?");
  static const RE2 kHexId("[a-f0-9]{64}");
  if (ref.empty() || RE2::FullMatch(ref, kHexId)) return false;
  std::string_view name = ref;
  name = name.substr(0, name.find('@'));
  if (std::size_t colon = name.rfind(':');
      colon != std::string_view::npos && name.find('/', colon) == std::string_view::npos) {
    name = name.substr(0, colon);
  }
  return name.size() <= 255 && RE2::FullMatch(ref, kRef);
}

}  // namespace

void invalidDefaultArgInFrom(const Input& in, const Emit& emit) {
  // The global ARGs as if no --build-arg were given.
  LexOptions lo;
  lo.escape = in.df.escape;
  Lexer lexer(lo);
  Env env = platformDefaults();
  for (const auto& a : metaArgs(in)) {
    if (!a.value) continue;
    auto v = lexer.processWord(*a.value, env);
    if (!v) return;  // the build fails on its own
    env[a.name] = *v;
  }
  for (const auto& st : in.stages) {
    auto from = fromOf(in, st);
    if (!from) continue;
    auto name = lexer.processWord(from->image, env);
    if (!name) return;
    if (!validReference(*name)) {
      emit(st.from->range.start,
           "Default value for ARG " + from->image + " results in empty or invalid base image name");
    }
  }
}

namespace {

const std::set<std::string, std::less<>>& knownOs() {
  static const std::set<std::string, std::less<>> k = {
      "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios",     "js",
      "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "wasip1",  "windows", "zos"};
  return k;
}

std::string normalizeArch(std::string a) {
  a = asciiLower(a);
  if (a == "i386") return "386";
  if (a == "x86_64" || a == "x86-64") return "amd64";
  if (a == "aarch64") return "arm64";
  if (a == "armhf" || a == "armel") return "arm";
  return a;
}

// containerd's platforms.Parse, far enough to name the OS and architecture.
std::optional<std::pair<std::string, std::string>> parsePlatform(std::string_view s) {
  auto parts = std::vector<std::string>();
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) slash = s.size();
    parts.emplace_back(asciiLower(s.substr(start, slash - start)));
    start = slash + 1;
  }
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  for (const auto& p : parts) {
    if (p.empty()) return std::nullopt;
  }
  oci::Platform host = oci::hostPlatform();
  if (parts.size() == 1) {
    if (knownOs().count(parts[0])) return std::pair{parts[0], host.architecture};
    return std::pair{host.os, normalizeArch(parts[0])};
  }
  if (!knownOs().count(parts[0])) return std::nullopt;
  return std::pair{parts[0], normalizeArch(parts[1])};
}

}  // namespace

void fromPlatformFlagConstDisallowed(const Input& in, const Emit& emit) {
  LexOptions lo;
  lo.escape = in.df.escape;
  for (const auto& st : in.stages) {
    auto from = fromOf(in, st);
    if (!from || from->platform.empty()) continue;
    if (!variableRefs(from->platform, in.df.escape).empty()) continue;
    auto value = Lexer(lo).processWord(from->platform, Env{});
    if (!value) continue;
    auto p = parsePlatform(*value);
    if (!p) continue;
    // A stage named for its platform ("build-arm64") pins it on purpose.
    if (st.name.find(p->first) != std::string::npos ||
        st.name.find(p->second) != std::string::npos) {
      continue;
    }
    emit(st.from->range.start,
         "FROM --platform flag should not use constant value " + goQuote(*value));
  }
}

void redundantTargetPlatform(const Input& in, const Emit& emit) {
  LexOptions lo;
  lo.escape = in.df.escape;
  Env env = globalEnv(in);
  for (const auto& st : in.stages) {
    auto from = fromOf(in, st);
    if (!from || from->platform.empty()) continue;
    auto refs = variableRefs(from->platform, in.df.escape);
    if (refs.size() != 1 || refs[0] != "TARGETPLATFORM") continue;
    auto value = Lexer(lo).processWord(from->platform, env);
    if (value && *value == env["TARGETPLATFORM"]) {
      emit(st.from->range.start, "Setting platform to predefined " + from->platform +
                                     " in FROM is redundant as this is the default behavior");
    }
  }
}

}  // namespace hull::dockerfile::checks
