#include "dockerfile/instructions.h"

#include <algorithm>
#include <charconv>

#include "dockerfile/flags.h"
#include "dockerfile/text.h"

namespace hull::dockerfile {
namespace {

Error argError(std::string message) { return Error{Errc::kInvalidArgument, std::move(message)}; }

tl::unexpected<Error> atLeastOne(std::string_view kw) {
  return fail(argError(std::string(kw) + " requires at least one argument"));
}
tl::unexpected<Error> exactlyOne(std::string_view kw) {
  return fail(argError(std::string(kw) + " requires exactly one argument"));
}

struct Request {
  const Node& node;
  std::string kw;  // upper case
  Flags flags;
  const std::vector<std::string>& args;
};

CommandLine commandLine(const Request& r) {
  CommandLine c;
  c.shell_form = !r.node.json;
  c.args = r.args;
  return c;
}

bool validStageName(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<InstructionBody> parseFrom(Request& r) {
  r.flags.addString("platform");
  HULL_TRY(r.flags.parse());
  From f;
  if (r.args.size() == 3 && equalsIgnoreCase(r.args[1], "as")) {
    f.stage_name = asciiLower(r.args[2]);
    if (!validStageName(f.stage_name)) {
      return fail(argError("invalid name for build stage: \"" + r.args[2] +
                           "\", name can't start with a number or contain symbols"));
    }
  } else if (r.args.size() != 1) {
    return fail(argError("FROM requires either one or three arguments"));
  }
  f.image = r.args[0];
  f.platform = r.flags.str("platform");
  return f;
}

Result<InstructionBody> parseRun(Request& r) {
  r.flags.addStrings("mount");
  r.flags.addString("network");
  r.flags.addString("security");
  r.flags.addStrings("device");
  HULL_TRY(r.flags.parse());
  if (r.args.empty()) return atLeastOne("RUN");
  Run run;
  run.command = commandLine(r);
  run.mount_specs = r.flags.strings("mount");
  run.network = r.flags.str("network");
  if (!run.network.empty() && run.network != "default" && run.network != "none" &&
      run.network != "host") {
    return fail(
        argError("unsupported network mode \"" + run.network + "\" (use default, none or host)"));
  }
  run.security = r.flags.str("security");
  if (!run.security.empty() && run.security != "sandbox" && run.security != "insecure") {
    return fail(
        argError("unsupported security mode \"" + run.security + "\" (use sandbox or insecure)"));
  }
  for (const auto& spec : r.flags.strings("device")) {
    HULL_ASSIGN_OR_RETURN(RunDevice device, parseRunDevice(spec));
    run.devices.push_back(std::move(device));
  }
  run.heredocs = r.node.heredocs;
  return run;
}

Result<std::vector<KeyValue>> keyValues(const Request& r) {
  if (r.args.empty()) return atLeastOne(r.kw);
  std::vector<KeyValue> out;
  for (std::size_t i = 0; i + 3 <= r.args.size(); i += 3) {
    if (r.args[i].empty()) return fail(argError(r.kw + " names can not be blank"));
    out.push_back({r.args[i], r.args[i + 1]});
  }
  return out;
}

Result<InstructionBody> parseCopy(Request& r, bool add) {
  if (r.args.size() < 2) {
    return fail(argError(r.kw + " requires at least two arguments, but only one was provided. "
                                "Destination could not be determined"));
  }
  r.flags.addString("chown");
  r.flags.addString("chmod");
  r.flags.addBool("link");
  r.flags.addStrings("exclude");
  if (add) {
    r.flags.addString("checksum");
    r.flags.addBool("keep-git-dir");
  } else {
    r.flags.addString("from");
    r.flags.addBool("parents");
  }
  HULL_TRY(r.flags.parse());
  Copy c;
  c.add = add;
  c.chown = r.flags.str("chown");
  c.chmod = r.flags.str("chmod");
  c.link = r.flags.boolean("link");
  c.excludes = r.flags.strings("exclude");
  if (add) {
    c.checksum = r.flags.str("checksum");
    c.keep_git_dir = r.flags.boolean("keep-git-dir");
  } else {
    c.from = r.flags.str("from");
    c.parents = r.flags.boolean("parents");
  }
  c.dest = r.args.back();
  bool is_heredoc = false;
  if (!r.node.json) {
    (void)parseHeredocWord(c.dest, &is_heredoc);
    if (is_heredoc) return fail(argError(r.kw + " cannot accept a heredoc as a destination"));
  }
  for (std::size_t i = 0; i + 1 < r.args.size(); ++i) {
    const std::string& src = r.args[i];
    auto doc = r.node.json ? Result<Heredoc>(Heredoc{}) : parseHeredocWord(src, &is_heredoc);
    if (!r.node.json && doc && is_heredoc) {
      Heredoc inline_doc = *doc;
      for (const auto& h : r.node.heredocs) {
        if (h.name == inline_doc.name) inline_doc.content = h.content;
      }
      c.inline_sources.push_back(std::move(inline_doc));
    } else {
      c.sources.push_back(src);
    }
  }
  return c;
}

Result<InstructionBody> parseArg(Request& r) {
  HULL_TRY(r.flags.parse());
  if (r.args.empty()) return atLeastOne("ARG");
  Arg a;
  for (const auto& word : r.args) {
    ArgDecl d;
    if (auto eq = word.find('='); eq != std::string::npos) {
      if (eq == 0) return fail(argError("ARG names can not be blank"));
      d.name = word.substr(0, eq);
      d.value = word.substr(eq + 1);
    } else {
      d.name = word;
    }
    a.args.push_back(std::move(d));
  }
  return a;
}

Result<int64_t> parseInterval(const Flags& flags, const std::string& name) {
  const std::string& s = flags.str(name);
  if (s.empty()) return int64_t{0};
  auto d = parseDuration(s);
  if (!d) return fail(d.error().wrap("--" + name));
  if (*d == 0) return int64_t{0};
  if (*d < 1000000) return fail(argError("--" + name + " cannot be less than 1ms"));
  return *d;
}

Result<InstructionBody> parseHealthcheck(Request& r) {
  if (r.args.empty()) return atLeastOne("HEALTHCHECK");
  Healthcheck h;
  std::string type = asciiUpper(r.args[0]);
  std::vector<std::string> rest(r.args.begin() + 1, r.args.end());
  if (type == "NONE") {
    if (!rest.empty() || !r.node.flags.empty()) {
      return fail(argError("HEALTHCHECK NONE takes no arguments"));
    }
    h.config.test = {"NONE"};
    return h;
  }
  for (const char* name : {"interval", "timeout", "start-period", "start-interval", "retries"}) {
    r.flags.addString(name);
  }
  HULL_TRY(r.flags.parse());
  if (type != "CMD") {
    return fail(argError("Unknown type \"" + r.args[0] + "\" in HEALTHCHECK (try CMD)"));
  }
  if (rest.empty()) return fail(argError("Missing command after HEALTHCHECK CMD"));
  h.config.test = {r.node.json ? "CMD" : "CMD-SHELL"};
  h.config.test.insert(h.config.test.end(), rest.begin(), rest.end());
  HULL_ASSIGN_OR_RETURN(h.config.interval, parseInterval(r.flags, "interval"));
  HULL_ASSIGN_OR_RETURN(h.config.timeout, parseInterval(r.flags, "timeout"));
  HULL_ASSIGN_OR_RETURN(h.config.start_period, parseInterval(r.flags, "start-period"));
  HULL_ASSIGN_OR_RETURN(h.config.start_interval, parseInterval(r.flags, "start-interval"));
  if (const std::string& s = r.flags.str("retries"); !s.empty()) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > INT32_MAX || v < INT32_MIN) {
      return fail(argError("--retries: invalid integer \"" + s + "\""));
    }
    if (v < 0) return fail(argError("--retries cannot be negative (" + s + ")"));
    h.config.retries = static_cast<int>(v);
  }
  return h;
}

Result<Instruction> typeNode(const Node& node);

Result<InstructionBody> parseOnbuild(Request& r) {
  HULL_TRY(r.flags.parse());
  if (r.node.children.empty()) return atLeastOne("ONBUILD");
  Node child = r.node.children[0];
  std::string trigger = asciiUpper(child.keyword);
  if (trigger == "ONBUILD") {
    return fail(argError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"));
  }
  if (trigger == "MAINTAINER" || trigger == "FROM") {
    return fail(argError(trigger + " isn't allowed as an ONBUILD trigger"));
  }
  Onbuild o;
  std::string_view orig = trimLeft(r.node.original);
  orig = trimLeft(orig.substr(std::min(orig.size(), r.node.keyword.size())));
  o.expression = std::string(orig);
  for (const auto& h : r.node.heredocs) o.expression += "\n" + h.content + h.name;
  child.heredocs = r.node.heredocs;
  child.range = r.node.range;
  auto typed = typeNode(child);
  if (!typed) return fail(std::move(typed).error());
  o.trigger = std::make_shared<Instruction>(std::move(typed).value());
  return o;
}

Result<InstructionBody> parseSimple(Request& r) {
  HULL_TRY(r.flags.parse());
  const std::string& kw = r.kw;
  if (kw == "CMD") return Cmd{commandLine(r)};
  if (kw == "ENTRYPOINT") return Entrypoint{commandLine(r)};
  if (kw == "LABEL") {
    HULL_ASSIGN_OR_RETURN(auto kvs, keyValues(r));
    return Label{std::move(kvs)};
  }
  if (kw == "ENV") {
    HULL_ASSIGN_OR_RETURN(auto kvs, keyValues(r));
    return EnvInstr{std::move(kvs)};
  }
  if (kw == "EXPOSE") {
    if (r.args.empty()) return atLeastOne(kw);
    return Expose{r.args};
  }
  if (kw == "VOLUME") {
    if (r.args.empty()) return atLeastOne(kw);
    return Volume{r.args};
  }
  if (kw == "SHELL") {
    if (!r.node.json) return fail(argError("SHELL requires the arguments to be in JSON form"));
    if (r.args.empty()) return atLeastOne(kw);
    return Shell{r.args};
  }
  if (r.args.size() != 1) return exactlyOne(kw);
  if (kw == "MAINTAINER") return Maintainer{r.args[0]};
  if (kw == "USER") return User{r.args[0]};
  if (kw == "WORKDIR") return Workdir{r.args[0]};
  return StopSignal{r.args[0]};
}

Result<InstructionBody> dispatch(Request& r) {
  const std::string& kw = r.kw;
  if (kw == "FROM") return parseFrom(r);
  if (kw == "RUN") return parseRun(r);
  if (kw == "COPY" || kw == "ADD") return parseCopy(r, kw == "ADD");
  if (kw == "ARG") return parseArg(r);
  if (kw == "HEALTHCHECK") return parseHealthcheck(r);
  if (kw == "ONBUILD") return parseOnbuild(r);
  return parseSimple(r);
}

Result<Instruction> typeNode(const Node& node) {
  std::string kw = asciiUpper(node.keyword);
  const auto& known = instructionKeywords();
  if (std::find(known.begin(), known.end(), kw) == known.end()) {
    std::string msg = "unknown instruction: " + node.keyword;
    if (auto s = suggest(node.keyword, known); !s.empty()) msg += " (did you mean " + s + "?)";
    return fail(argError(msg));
  }
  Request r{node, kw, Flags(node.flags), node.args};
  HULL_ASSIGN_OR_RETURN(InstructionBody body, dispatch(r));
  return Instruction{node.range, kw, node.original, std::move(body)};
}

}  // namespace

const std::vector<std::string>& instructionKeywords() {
  static const std::vector<std::string> k = {
      "FROM",    "RUN", "CMD",     "LABEL",      "MAINTAINER",  "EXPOSE",
      "ENV",     "ADD", "COPY",    "ENTRYPOINT", "VOLUME",      "USER",
      "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"};
  return k;
}

Result<Instruction> parseInstruction(const Node& node, std::string_view file) {
  auto typed = typeNode(node);
  if (!typed) return fail(locatedError(file, node.range.start, typed.error().message));
  return typed;
}

}  // namespace hull::dockerfile
