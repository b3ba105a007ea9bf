#include "engine/change.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/json.h"

namespace hull::engine {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

auto bad(std::string_view instruction, std::string_view why) {
  return fail(Errc::kInvalidArgument, fmt::format("--change \"{}\": {}", instruction, why));
}

// Splits on unquoted whitespace; quotes group words and are removed, backslash escapes a char.
Result<std::vector<std::string>> shellWords(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote != 0) return fail(Errc::kInvalidArgument, "unterminated quote");
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// A JSON array of strings (exec form), or nullopt when the text is not one.
std::optional<std::vector<std::string>> execForm(std::string_view rest) {
  if (rest.empty() || rest.front() != '[') return std::nullopt;
  auto j = parseJson(rest, "exec form");
  if (!j || !j->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *j) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::vector<std::string> commandOf(std::string_view rest, const oci::ContainerConfig& config) {
  if (auto exec = execForm(rest)) return *exec;
  std::vector<std::string> shell = config.shell;
  if (shell.empty()) shell = {"/bin/sh", "-c"};
  shell.emplace_back(rest);
  return shell;
}

// "k=v k2=v2" pairs; the legacy "k v" form when the first word has no '='.
Result<std::vector<std::pair<std::string, std::string>>> keyValues(std::string_view rest,
                                                                   bool allow_legacy) {
  std::vector<std::pair<std::string, std::string>> out;
  HULL_ASSIGN_OR_RETURN(auto words, shellWords(rest));
  if (words.empty()) return fail(Errc::kInvalidArgument, "needs at least one KEY=VALUE");
  if (words[0].find('=') == std::string::npos) {
    if (!allow_legacy || words.size() < 2) {
      return fail(Errc::kInvalidArgument, "expected KEY=VALUE, got \"" + words[0] + "\"");
    }
    std::string_view after = trim(trim(rest).substr(trim(rest).find_first_of(" \t") + 1));
    out.emplace_back(words[0], std::string(after));
    return out;
  }
  for (const auto& w : words) {
    std::size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(Errc::kInvalidArgument, "expected KEY=VALUE, got \"" + w + "\"");
    }
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

void setEnv(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::string entry = key + "=" + value;
  for (auto& e : env) {
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = entry;
      return;
    }
  }
  env.push_back(std::move(entry));
}

Result<int> parsePort(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid port \"{}\"", s));
  }
  return v;
}

Result<void> addExpose(std::string_view word, std::vector<std::string>& ports) {
  std::string_view proto = "tcp";
  if (auto slash = word.find('/'); slash != std::string_view::npos) {
    proto = word.substr(slash + 1);
    word = word.substr(0, slash);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return fail(Errc::kInvalidArgument, fmt::format("invalid protocol \"{}\"", proto));
    }
  }
  std::size_t dash = word.find('-');
  HULL_ASSIGN_OR_RETURN(int first, parsePort(word.substr(0, dash)));
  int last = first;
  if (dash != std::string_view::npos) {
    HULL_ASSIGN_OR_RETURN(last, parsePort(word.substr(dash + 1)));
    if (last < first) return fail(Errc::kInvalidArgument, "invalid port range");
  }
  for (int p = first; p <= last; ++p) {
    std::string key = fmt::format("{}/{}", p, proto);
    if (std::find(ports.begin(), ports.end(), key) == ports.end()) ports.push_back(key);
  }
  return {};
}

Result<void> applyHealthcheck(std::string_view rest, oci::ContainerConfig& config) {
  oci::HealthConfig h;
  while (rest.starts_with("--")) {
    std::size_t end = rest.find_first_of(" \t");
    std::string_view opt = rest.substr(2, end == std::string_view::npos ? rest.npos : end - 2);
    rest = end == std::string_view::npos ? std::string_view() : trim(rest.substr(end));
    std::size_t eq = opt.find('=');
    if (eq == std::string_view::npos) {
      return fail(Errc::kInvalidArgument, fmt::format("option --{} needs a value", opt));
    }
    std::string_view name = opt.substr(0, eq), value = opt.substr(eq + 1);
    if (name == "retries") {
      HULL_ASSIGN_OR_RETURN(h.retries, parsePort(value));
      continue;
    }
    HULL_ASSIGN_OR_RETURN(int64_t ns, parseGoDuration(value));
    if (name == "interval")
      h.interval = ns;
    else if (name == "timeout")
      h.timeout = ns;
    else if (name == "start-period")
      h.start_period = ns;
    else if (name == "start-interval")
      h.start_interval = ns;
    else
      return fail(Errc::kInvalidArgument, fmt::format("unknown option --{}", name));
  }
  std::size_t sp = rest.find_first_of(" \t");
  std::string kind = std::string(rest.substr(0, sp));
  std::transform(kind.begin(), kind.end(), kind.begin(), ::toupper);
  if (kind == "NONE" && sp == std::string_view::npos) {
    h.test = {"NONE"};
  } else if (kind == "CMD" && sp != std::string_view::npos) {
    std::string_view cmd = trim(rest.substr(sp));
    if (auto exec = execForm(cmd)) {
      h.test = {"CMD"};
      h.test.insert(h.test.end(), exec->begin(), exec->end());
    } else {
      h.test = {"CMD-SHELL", std::string(cmd)};
    }
  } else {
    return fail(Errc::kInvalidArgument, "expected HEALTHCHECK [OPTIONS] CMD command, or NONE");
  }
  config.healthcheck = std::move(h);
  return {};
}

Result<void> applyWords(const std::string& keyword, std::string_view rest,
                        oci::ContainerConfig& config) {
  if (keyword == "ENV" || keyword == "LABEL") {
    HULL_ASSIGN_OR_RETURN(auto pairs, keyValues(rest, keyword == "ENV"));
    for (auto& [k, v] : pairs) {
      if (keyword == "ENV")
        setEnv(config.env, k, v);
      else
        config.labels[k] = v;
    }
    return {};
  }
  if (keyword == "EXPOSE") {
    HULL_ASSIGN_OR_RETURN(auto words, shellWords(rest));
    for (const auto& w : words) HULL_TRY(addExpose(w, config.exposed_ports));
    return {};
  }
  // VOLUME
  auto paths = execForm(rest);
  if (!paths) {
    HULL_ASSIGN_OR_RETURN(paths, shellWords(rest));
  }
  for (const auto& p : *paths) {
    if (p.empty()) return fail(Errc::kInvalidArgument, "empty volume path");
    if (std::find(config.volumes.begin(), config.volumes.end(), p) == config.volumes.end()) {
      config.volumes.push_back(p);
    }
  }
  return {};
}

Result<void> applyKeyword(const std::string& keyword, std::string_view rest,
                          oci::ContainerConfig& config) {
  if (keyword == "CMD")
    config.cmd = commandOf(rest, config);
  else if (keyword == "ENTRYPOINT")
    config.entrypoint = commandOf(rest, config);
  else if (keyword == "USER")
    config.user = std::string(rest);
  else if (keyword == "STOPSIGNAL")
    config.stop_signal = std::string(rest);
  else if (keyword == "ONBUILD")
    config.on_build.emplace_back(rest);
  else if (keyword == "HEALTHCHECK")
    return applyHealthcheck(rest, config);
  else if (keyword == "WORKDIR") {
    // A relative WORKDIR continues the previous one, as in a Dockerfile.
    std::string dir(rest);
    if (!dir.starts_with("/")) {
      std::string base = config.working_dir.empty() ? "/" : config.working_dir;
      dir = base + (base.ends_with("/") ? "" : "/") + dir;
    }
    config.working_dir = dir;
  } else if (keyword == "SHELL") {
    auto shell = execForm(rest);
    if (!shell || shell->empty()) {
      return fail(Errc::kInvalidArgument, "SHELL needs a JSON array such as [\"/bin/sh\", \"-c\"]");
    }
    config.shell = *shell;
  } else if (keyword == "ENV" || keyword == "LABEL" || keyword == "EXPOSE" || keyword == "VOLUME") {
    return applyWords(keyword, rest, config);
  } else {
    return fail(Errc::kInvalidArgument,
                fmt::format("unsupported instruction {} (supported: CMD, ENTRYPOINT, ENV, EXPOSE, "
                            "HEALTHCHECK, LABEL, ONBUILD, SHELL, STOPSIGNAL, USER, VOLUME, "
                            "WORKDIR)",
                            keyword));
  }
  return {};
}

}  // namespace

Result<void> applyChange(std::string_view instruction, oci::ContainerConfig& config) {
  std::string_view text = trim(instruction);
  std::size_t sp = text.find_first_of(" \t");
  std::string keyword(text.substr(0, sp));
  std::transform(keyword.begin(), keyword.end(), keyword.begin(), ::toupper);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : trim(text.substr(sp));
  if (keyword.empty()) return bad(instruction, "empty instruction");
  if (rest.empty()) return bad(instruction, keyword + " needs an argument");
  return applyKeyword(keyword, rest, config).map_error([&](Error e) {
    return std::move(e).wrap(fmt::format("--change \"{}\"", text));
  });
}

Result<int64_t> parseGoDuration(std::string_view text) {
  auto bad_duration = fail(Errc::kInvalidArgument, fmt::format("invalid duration \"{}\"", text));
  if (text.empty()) return bad_duration;
  double total = 0;
  std::string_view s = text;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    if (n == 0) return bad_duration;
    double value = std::strtod(std::string(s.substr(0, n)).c_str(), nullptr);
    s.remove_prefix(n);
    std::size_t u = 0;
    while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double scale;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "µs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      return bad_duration;
    total += value * scale;
  }
  return static_cast<int64_t>(total);
}

}  // namespace hull::engine
