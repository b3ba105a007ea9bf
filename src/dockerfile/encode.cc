// JSON and text renderings of a parsed Dockerfile (shape documented in docs/dockerfile-parse.md).
#include <fmt/format.h>

#include "dockerfile/dockerfile.h"

namespace hull::dockerfile {
namespace {

Json commandJson(const CommandLine& c) {
  return Json{{"form", c.shell_form ? "shell" : "exec"}, {"args", c.args}};
}

Json heredocJson(const Heredoc& h) {
  return Json{{"name", h.name}, {"content", h.content}, {"expand", h.expand}, {"chomp", h.chomp}};
}

Json heredocsJson(const std::vector<Heredoc>& docs) {
  Json out = Json::array();
  for (const auto& h : docs) out.push_back(heredocJson(h));
  return out;
}

Json pairsJson(const std::vector<KeyValue>& kvs) {
  Json out = Json::array();
  for (const auto& kv : kvs) out.push_back({{"key", kv.key}, {"value", kv.value}});
  return out;
}

Json mountJson(const Mount& m) {
  Json j = {{"type", m.type}, {"readonly", m.readonly}};
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("from", m.from);
  put("source", m.source);
  put("target", m.target);
  put("id", m.id);
  put("sharing", m.sharing);
  if (m.required) j["required"] = true;
  if (m.mode) j["mode"] = fmt::format("{:04o}", *m.mode);
  if (m.uid) j["uid"] = *m.uid;
  if (m.gid) j["gid"] = *m.gid;
  if (m.size) j["size"] = *m.size;
  if (m.env) j["env"] = *m.env;
  if (m.from_stage) j["from_stage"] = *m.from_stage;
  return j;
}

void runJson(const Run& r, Json& j) {
  j["command"] = commandJson(r.command);
  if (!r.mounts.empty()) {
    for (const auto& m : r.mounts) j["mounts"].push_back(mountJson(m));
  } else if (!r.mount_specs.empty()) {
    j["mount_specs"] = r.mount_specs;  // not yet expanded (ONBUILD triggers)
  }
  if (!r.network.empty()) j["network"] = r.network;
  if (!r.security.empty()) j["security"] = r.security;
  for (const auto& d : r.devices) {
    j["devices"].push_back(Json{{"name", d.name}, {"required", d.required}});
  }
  if (!r.heredocs.empty()) j["heredocs"] = heredocsJson(r.heredocs);
}

void copyJson(const Copy& c, Json& j) {
  j["sources"] = c.sources;
  if (!c.inline_sources.empty()) j["inline_sources"] = heredocsJson(c.inline_sources);
  j["dest"] = c.dest;
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("from", c.from);
  if (c.from_stage) j["from_stage"] = *c.from_stage;
  put("chown", c.chown);
  put("chmod", c.chmod);
  put("checksum", c.checksum);
  if (c.link) j["link"] = true;
  if (c.parents) j["parents"] = true;
  if (c.keep_git_dir) j["keep_git_dir"] = true;
  if (!c.excludes.empty()) j["exclude"] = c.excludes;
}

void healthJson(const oci::HealthConfig& h, Json& j) {
  j["test"] = h.test;
  if (h.interval) j["interval_ns"] = h.interval;
  if (h.timeout) j["timeout_ns"] = h.timeout;
  if (h.start_period) j["start_period_ns"] = h.start_period;
  if (h.start_interval) j["start_interval_ns"] = h.start_interval;
  if (h.retries) j["retries"] = h.retries;
}

Json argsJson(const std::vector<ArgDecl>& args) {
  Json out = Json::array();
  for (const auto& a : args) {
    out.push_back({{"name", a.name}, {"value", a.value ? Json(*a.value) : Json(nullptr)}});
  }
  return out;
}

void bodyJson(const InstructionBody& body, Json& j) {
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, From>) {
          j["image"] = b.image;
          if (!b.platform.empty()) j["platform"] = b.platform;
          if (!b.stage_name.empty()) j["name"] = b.stage_name;
        } else if constexpr (std::is_same_v<T, Run>) {
          runJson(b, j);
        } else if constexpr (std::is_same_v<T, Cmd> || std::is_same_v<T, Entrypoint>) {
          j["command"] = commandJson(b.command);
        } else if constexpr (std::is_same_v<T, Label>) {
          j["labels"] = pairsJson(b.labels);
        } else if constexpr (std::is_same_v<T, Maintainer>) {
          j["maintainer"] = b.name;
        } else if constexpr (std::is_same_v<T, Expose>) {
          j["ports"] = b.ports;
        } else if constexpr (std::is_same_v<T, EnvInstr>) {
          j["env"] = pairsJson(b.vars);
        } else if constexpr (std::is_same_v<T, Copy>) {
          copyJson(b, j);
        } else if constexpr (std::is_same_v<T, Volume>) {
          j["paths"] = b.paths;
        } else if constexpr (std::is_same_v<T, User>) {
          j["user"] = b.user;
        } else if constexpr (std::is_same_v<T, Workdir>) {
          j["path"] = b.path;
        } else if constexpr (std::is_same_v<T, Arg>) {
          j["args"] = argsJson(b.args);
        } else if constexpr (std::is_same_v<T, Onbuild>) {
          j["expression"] = b.expression;
          if (b.trigger) j["trigger"] = toJson(*b.trigger);
        } else if constexpr (std::is_same_v<T, StopSignal>) {
          j["signal"] = b.signal;
        } else if constexpr (std::is_same_v<T, Healthcheck>) {
          healthJson(b.config, j);
        } else if constexpr (std::is_same_v<T, Shell>) {
          j["shell"] = b.shell;
        }
      },
      body);
}

std::string summary(const Instruction& ins) {
  std::string s = ins.original;
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  // The keyword is printed separately; show the rest as written.
  std::size_t i = s.find_first_not_of(' ');
  i = i == std::string::npos ? s.size() : s.find(' ', i);
  std::string rest = i == std::string::npos ? "" : s.substr(i);
  std::size_t k = rest.find_first_not_of(' ');
  rest = k == std::string::npos ? "" : rest.substr(k);
  if (rest.size() > 100) rest = rest.substr(0, 97) + "...";
  return rest;
}

}  // namespace

Json toJson(const Instruction& ins) {
  Json j = {{"kind", ins.keyword}, {"line", ins.range.start}, {"end_line", ins.range.end}};
  bodyJson(ins.body, j);
  return j;
}

Json toJson(const Dockerfile& d) {
  Json j;
  j["file"] = d.file;
  j["escape"] = std::string(1, d.escape);
  j["directives"] = Json::array();
  for (const auto& dir : d.directives) {
    j["directives"].push_back({{"name", dir.name}, {"value", dir.value}, {"line", dir.line}});
  }
  j["global_args"] = Json::array();
  for (const auto& a : d.global_args) {
    j["global_args"].push_back(
        {{"name", a.name}, {"value", a.value ? Json(*a.value) : Json(nullptr)}, {"line", a.line}});
  }
  j["target"] = d.target;
  j["stages"] = Json::array();
  for (const auto& st : d.stages) {
    Json s = {{"index", st.index},
              {"base", st.base},
              {"line", st.range.start},
              {"depends_on", st.depends_on}};
    if (!st.name.empty()) s["name"] = st.name;
    if (st.base_stage) s["base_stage"] = *st.base_stage;
    if (!st.platform.empty()) s["platform"] = st.platform;
    s["instructions"] = Json::array();
    for (const auto& ins : st.instructions) s["instructions"].push_back(toJson(ins));
    j["stages"].push_back(std::move(s));
  }
  if (!d.proxy_args.empty()) j["proxy_args"] = d.proxy_args;
  j["warnings"] = Json::array();
  for (const auto& w : d.warnings) {
    j["warnings"].push_back(w.line > 0 ? fmt::format("{}:{}: {}", d.file, w.line, w.message)
                                       : d.file + ": " + w.message);
  }
  return j;
}

std::string toText(const Dockerfile& d) {
  std::string out;
  for (const auto& dir : d.directives) out += fmt::format("# {}={}\n", dir.name, dir.value);
  for (const auto& a : d.global_args) {
    out += fmt::format("ARG {}{}\n", a.name, a.value ? "=" + *a.value : "");
  }
  for (const auto& st : d.stages) {
    out += fmt::format("stage {}{}: FROM {}{}{}\n", st.index,
                       st.name.empty() ? "" : " (" + st.name + ")", st.base,
                       st.platform.empty() ? "" : " [" + st.platform + "]",
                       st.index == d.target ? "  <- target" : "");
    for (const auto& ins : st.instructions) {
      out += fmt::format("  {:>4}  {} {}\n", ins.range.start, ins.keyword, summary(ins));
    }
  }
  for (const auto& w : d.warnings) {
    out += w.line > 0 ? fmt::format("warning: {}:{}: {}\n", d.file, w.line, w.message)
                      : fmt::format("warning: {}: {}\n", d.file, w.message);
  }
  return out;
}

}  // namespace hull::dockerfile
