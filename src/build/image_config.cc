// The pure rules of the builder (builder_internal.h): what each instruction does to the image
// config, BuildKit's history texts (Go-formatted, as dockerfile2llb writes them) and the
// canonical text a config-only step adds to the key chain.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <type_traits>

#include "base/json.h"
#include "build/builder_internal.h"
#include "oci/media_types.h"

namespace hull::build::detail {

namespace dockerfile = hull::dockerfile;

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through as Go prints it
        }
    }
  }
  return out + "\"";
}

std::string goQuoteList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + goQuote(v[i]);
  return out + "]";
}

std::string goList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

namespace {

// Go's %q of an int: a quoted rune.
std::string goQuoteRune(int r) {
  if (r >= 0x20 && r < 0x7f) {
    if (r == '\'') return "'\\''";
    if (r == '\\') return "'\\\\'";
    return std::string("'") + static_cast<char>(r) + "'";
  }
  char buf[16];
  if (r >= 0 && r < 0x100) {
    std::snprintf(buf, sizeof buf, "'\\x%02x'", r);
  } else {
    std::snprintf(buf, sizeof buf, "'\\u%04x'", r & 0xffff);
  }
  return buf;
}

std::string fmtFraction(int64_t v, int64_t unit, const char* suffix) {
  std::string s = std::to_string(v / unit);
  int64_t frac = v % unit;
  if (frac) {
    std::string f = std::to_string(frac + unit).substr(1);  // zero-padded digits
    while (!f.empty() && f.back() == '0') f.pop_back();
    s += "." + f;
  }
  return s + suffix;
}

}  // namespace

std::string goDuration(int64_t d) {
  if (d == 0) return "0s";
  std::string sign = d < 0 ? "-" : "";
  uint64_t u = d < 0 ? static_cast<uint64_t>(-d) : static_cast<uint64_t>(d);
  int64_t n = static_cast<int64_t>(u);
  if (n < 1000) return sign + std::to_string(n) + "ns";
  if (n < 1000000) return sign + fmtFraction(n, 1000, "µs");
  if (n < 1000000000) return sign + fmtFraction(n, 1000000, "ms");
  std::string out;
  int64_t secs_ns = n % 60000000000LL;
  int64_t mins = n / 60000000000LL;
  if (mins >= 60) out += std::to_string(mins / 60) + "h";
  if (mins > 0) out += std::to_string(mins % 60) + "m";
  return sign + out + fmtFraction(secs_ns, 1000000000, "s");
}

oci::ImageConfig scratchConfig() {
  oci::ImageConfig c;
  auto p = oci::hostPlatform();
  c.architecture = p.architecture;
  c.os = p.os;
  c.variant = p.variant;
  c.config.working_dir = "/";
  c.config.env = {std::string(kDefaultPath)};
  return c;
}

void setEnv(std::vector<std::string>& env, std::string_view key, std::string_view value) {
  std::string kv = std::string(key) + "=" + std::string(value);
  for (auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = std::move(kv);
      return;
    }
  }
  env.push_back(std::move(kv));
}

void ensurePath(std::vector<std::string>& env) {
  bool has = std::any_of(env.begin(), env.end(),
                         [](const std::string& e) { return e.rfind("PATH=", 0) == 0; });
  if (!has) env.insert(env.begin(), std::string(kDefaultPath));
}

std::string resolveWorkdir(std::string_view previous, std::string_view path) {
  std::string joined = std::string(path);
  if (joined.empty() || joined[0] != '/') {
    std::string base = previous.empty() ? "/" : std::string(previous);
    joined = base + "/" + joined;
  }
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= joined.size()) {
    std::size_t j = joined.find('/', i);
    if (j == std::string::npos) j = joined.size();
    std::string part = joined.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::vector<std::string> shellOf(const oci::ContainerConfig& c) {
  if (!c.shell.empty()) return c.shell;
  return {"/bin/sh", "-c"};
}

bool isConfigOnly(const dockerfile::Instruction& ins) {
  return !std::holds_alternative<dockerfile::Run>(ins.body) &&
         !std::holds_alternative<dockerfile::Copy>(ins.body) &&
         !std::holds_alternative<dockerfile::Workdir>(ins.body);
}

namespace {

std::vector<std::string> commandArgs(const dockerfile::CommandLine& c,
                                     const oci::ContainerConfig& config) {
  if (!c.shell_form) return c.args;
  auto args = shellOf(config);
  std::string line;
  for (std::size_t i = 0; i < c.args.size(); ++i) line += (i ? " " : "") + c.args[i];
  args.push_back(line);
  return args;
}

std::string healthText(const oci::HealthConfig& h) {
  return "&{" + goQuoteList(h.test) + " " + goQuote(goDuration(h.interval)) + " " +
         goQuote(goDuration(h.timeout)) + " " + goQuote(goDuration(h.start_period)) + " " +
         goQuote(goDuration(h.start_interval)) + " " + goQuoteRune(h.retries) + "}";
}

std::string exposeText(const std::vector<std::string>& ports) {
  std::vector<std::string> sorted = ports;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out = "map[";
  for (std::size_t i = 0; i < sorted.size(); ++i) out += (i ? " " : "") + sorted[i] + ":{}";
  return out + "]";
}

void addUnique(std::vector<std::string>& list, const std::string& v) {
  if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

std::string pairsText(const std::vector<dockerfile::KeyValue>& kvs) {
  std::string out;
  for (const auto& kv : kvs) out += " " + kv.key + "=" + kv.value;
  return out;
}

}  // namespace

std::string applyConfig(const dockerfile::Instruction& ins, oci::ImageConfig& image,
                        StageVars& vars) {
  auto& c = image.config;
  return std::visit(
      [&](const auto& b) -> std::string {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, dockerfile::EnvInstr>) {
          for (const auto& kv : b.vars) setEnv(c.env, kv.key, kv.value);
          return "ENV" + pairsText(b.vars);
        } else if constexpr (std::is_same_v<T, dockerfile::Arg>) {
          std::string text = "ARG";
          for (const auto& d : b.args) {
            text += " " + d.name + (d.value ? "=" + *d.value : "");
            auto it = std::find_if(vars.args.begin(), vars.args.end(),
                                   [&](const auto& a) { return a.first == d.name; });
            if (!d.value) continue;
            if (it != vars.args.end()) {
              it->second = *d.value;
            } else {
              vars.args.emplace_back(d.name, *d.value);
            }
          }
          return text;
        } else if constexpr (std::is_same_v<T, dockerfile::Label>) {
          for (const auto& kv : b.labels) c.labels[kv.key] = kv.value;
          return "LABEL" + pairsText(b.labels);
        } else if constexpr (std::is_same_v<T, dockerfile::Maintainer>) {
          image.author = b.name;
          return "MAINTAINER " + b.name;
        } else if constexpr (std::is_same_v<T, dockerfile::Expose>) {
          for (const auto& p : b.ports) addUnique(c.exposed_ports, p);
          std::sort(c.exposed_ports.begin(), c.exposed_ports.end());
          return "EXPOSE " + exposeText(b.ports);
        } else if constexpr (std::is_same_v<T, dockerfile::Volume>) {
          for (const auto& p : b.paths) addUnique(c.volumes, p);
          std::sort(c.volumes.begin(), c.volumes.end());
          return "VOLUME " + goList(b.paths);
        } else if constexpr (std::is_same_v<T, dockerfile::User>) {
          c.user = b.user;
          return "USER " + b.user;
        } else if constexpr (std::is_same_v<T, dockerfile::Workdir>) {
          c.working_dir = resolveWorkdir(c.working_dir, b.path);
          return "WORKDIR " + c.working_dir;
        } else if constexpr (std::is_same_v<T, dockerfile::Cmd>) {
          c.cmd = commandArgs(b.command, c);
          vars.cmd_set = true;
          return "CMD " + goQuoteList(*c.cmd);
        } else if constexpr (std::is_same_v<T, dockerfile::Entrypoint>) {
          c.entrypoint = commandArgs(b.command, c);
          // Docker: an ENTRYPOINT drops a CMD inherited from the base, keeps this stage's.
          if (!vars.cmd_set) c.cmd.reset();
          return "ENTRYPOINT " + goQuoteList(*c.entrypoint);
        } else if constexpr (std::is_same_v<T, dockerfile::Shell>) {
          c.shell = b.shell;
          return "SHELL " + goList(b.shell);
        } else if constexpr (std::is_same_v<T, dockerfile::Healthcheck>) {
          if (!b.config.test.empty() && b.config.test[0] == "NONE") {
            c.healthcheck = oci::HealthConfig{{"NONE"}};
          } else {
            c.healthcheck = b.config;
          }
          return "HEALTHCHECK " + healthText(*c.healthcheck);
        } else if constexpr (std::is_same_v<T, dockerfile::StopSignal>) {
          c.stop_signal = b.signal;
          return "STOPSIGNAL " + b.signal;
        } else if constexpr (std::is_same_v<T, dockerfile::Onbuild>) {
          c.on_build.push_back(b.expression);
          return "ONBUILD " + b.expression;
        } else {
          return ins.keyword;  // RUN, COPY: not config-only
        }
      },
      ins.body);
}

std::string canonicalConfig(const dockerfile::Instruction& ins, const oci::ImageConfig& after) {
  // The config the step leaves (it holds every effect, expanded) plus the keyword: two
  // instructions with the same effect share a key, as they share an image.
  Json j = Json::object();
  j["instruction"] = ins.keyword;
  j["config"] = oci::toJson(after.config);
  j["author"] = after.author;
  if (const auto* a = std::get_if<dockerfile::Arg>(&ins.body)) {
    // Names only: a value enters the key of the steps that use it (a RUN naming it, or an
    // instruction whose expansion it changed), never of every step after the ARG.
    Json args = Json::array();
    for (const auto& d : a->args) args.push_back(d.name);
    j["args"] = args;
  }
  return j.dump();
}

RunPlan planRun(const dockerfile::Run& run, const oci::ContainerConfig& config,
                const StageVars& vars) {
  RunPlan plan;
  auto shell = shellOf(config);
  if (!run.command.shell_form) {
    plan.args = run.command.args;
  } else {
    std::string line;
    for (std::size_t i = 0; i < run.command.args.size(); ++i) {
      line += (i ? " " : "") + run.command.args[i];
    }
    bool only_heredoc = false;
    if (run.heredocs.size() == 1) {
      (void)dockerfile::parseHeredocWord(line, &only_heredoc);
    }
    plan.args = shell;
    if (only_heredoc && run.heredocs[0].content.rfind("#!", 0) == 0) {
      // BuildKit: a single heredoc with a shebang is written to a file and executed.
      plan.script = run.heredocs[0];
      plan.args = {"/dev/pipes/" + run.heredocs[0].name};
    } else if (only_heredoc) {
      plan.args.push_back(run.heredocs[0].content);
    } else {
      for (const auto& h : run.heredocs) line += "\n" + h.content + h.name;
      plan.args.push_back(line);
    }
  }
  // BuildKit's runCommandString: "|N K=V ..." for the ARGs in scope, then the argv.
  std::string text;
  if (!vars.args.empty()) {
    text = "|" + std::to_string(vars.args.size());
    for (const auto& [k, v] : vars.args) {
      std::string value = v;
      for (const auto& e : config.env) {
        if (e.rfind(k + "=", 0) == 0) value = e.substr(k.size() + 1);
      }
      text += " " + k + "=" + value;
    }
  }
  for (const auto& a : plan.args) text += (text.empty() ? "" : " ") + a;
  plan.created_by = "RUN " + text + " # buildkit";
  return plan;
}

namespace {

bool isNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Every $NAME and ${NAME...} in `text`.
void collectNames(std::string_view text, std::set<std::string>& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) continue;
    std::size_t j = i + 1;
    if (text[j] == '{') ++j;
    if (j >= text.size() || !isNameStart(text[j])) continue;
    std::size_t k = j;
    while (k < text.size() && isNameChar(text[k])) ++k;
    out.emplace(text.substr(j, k - j));
    i = k - 1;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> usedArgs(const dockerfile::Run& run,
                                                          const StageVars& vars) {
  std::set<std::string> names;
  for (const auto& a : run.command.args) collectNames(a, names);
  for (const auto& h : run.heredocs) collectNames(h.content, names);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : vars.args) {
    if (names.count(kv.first)) out.push_back(kv);
  }
  return out;
}

std::vector<std::string> runEnv(const oci::ContainerConfig& config, const StageVars& vars,
                                const std::map<std::string, std::string>& proxy_args) {
  std::vector<std::string> env = config.env;
  auto has = [&](const std::string& k) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
      return e.size() > k.size() && e.compare(0, k.size(), k) == 0 && e[k.size()] == '=';
    });
  };
  for (const auto& [k, v] : vars.args) {
    if (!has(k)) env.push_back(k + "=" + v);
  }
  for (const auto& [k, v] : proxy_args) {
    if (!has(k)) env.push_back(k + "=" + v);
  }
  if (!has("PATH")) env.emplace_back(kDefaultPath);
  return env;
}

std::string copyCreatedBy(const dockerfile::Copy& c) {
  std::string text = c.add ? "ADD" : "COPY";
  if (c.parents) text += " --parents";
  if (!c.chown.empty()) text += " --chown=" + c.chown;
  if (!c.chmod.empty()) text += " --chmod=" + c.chmod;
  for (const auto& s : c.sources) text += " " + s;
  for (const auto& h : c.inline_sources) text += " <<" + h.name;
  return text + " " + c.dest + " # buildkit";
}

std::string runFailure(std::string_view file, int line, const std::vector<std::string>& args,
                       int exit_code, const std::vector<std::string>& last_lines) {
  std::string cmd;
  for (std::size_t i = 0; i < args.size(); ++i) cmd += (i ? " " : "") + args[i];
  std::string msg =
      located(file, line,
              "process " + goQuote(cmd) +
                  " did not complete successfully: exit code: " + std::to_string(exit_code));
  for (const auto& l : last_lines) msg += "\n  " + l;
  return msg;
}

oci::History historyEntry(std::string created_by, const std::string& created, bool empty_layer) {
  oci::History h;
  h.created = created;
  h.created_by = std::move(created_by);
  h.comment = std::string(kHistoryComment);
  h.empty_layer = empty_layer;
  return h;
}

std::string ociLayerMediaType(std::string_view media_type) {
  if (media_type == oci::kDockerLayerGzip) return std::string(oci::kMediaTypeLayerGzip);
  if (media_type == oci::kDockerLayer) return std::string(oci::kMediaTypeLayer);
  return std::string(media_type);
}

std::string located(std::string_view file, int line, std::string_view message) {
  std::string out(file);
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": " + std::string(message);
}

void TailLines::add(std::string_view chunk) {
  std::lock_guard lock(mu_);
  partial_.append(chunk);
  std::size_t pos;
  while ((pos = partial_.find('\n')) != std::string::npos) {
    lines_.push_back(partial_.substr(0, pos));
    partial_.erase(0, pos + 1);
    if (lines_.size() > max_) lines_.erase(lines_.begin());
  }
  if (partial_.size() > 4096) partial_.erase(0, partial_.size() - 4096);
}

std::vector<std::string> TailLines::lines() const {
  std::lock_guard lock(mu_);
  auto out = lines_;
  if (!partial_.empty()) out.push_back(partial_);
  if (out.size() > max_) out.erase(out.begin(), out.end() - static_cast<long>(max_));
  return out;
}

Result<std::vector<dockerfile::Instruction>> parseTriggers(
    const std::vector<std::string>& triggers, const std::vector<std::string>& base_env,
    const dockerfile::ParseOptions& options) {
  // Parsed as the body of a stage FROM the base so that ARG scoping and expansion against the
  // base's Env happen exactly as for the stage's own instructions.
  std::string text = "FROM onbuild-base\n";
  for (const auto& t : triggers) text += t + "\n";
  dockerfile::ParseOptions opt = options;
  opt.target.clear();
  opt.base_image_env = [&](const std::string&) -> Result<std::vector<std::string>> {
    return base_env;
  };
  auto df = dockerfile::parse(text, opt);
  if (!df) return fail(df.error().code, "ONBUILD trigger: " + df.error().message);
  if (df->stages.empty()) return std::vector<dockerfile::Instruction>{};
  return std::move(df->stages.back().instructions);
}

std::vector<std::vector<int>> stageDependencies(const std::vector<dockerfile::Stage>& stages) {
  std::map<int, int> pos;
  for (std::size_t i = 0; i < stages.size(); ++i) pos[stages[i].index] = static_cast<int>(i);
  std::vector<std::vector<int>> deps(stages.size());
  for (std::size_t i = 0; i < stages.size(); ++i) {
    for (int d : stages[i].depends_on) {
      auto it = pos.find(d);
      deps[i].push_back(it == pos.end() ? -1 : it->second);
    }
  }
  return deps;
}

}  // namespace hull::build::detail
