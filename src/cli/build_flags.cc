// The flag values of build_flags.h.
#include "cli/build_flags.h"

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace hull::cli {

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::map<std::string, std::string>> parseBuildArgs(const std::vector<std::string>& args,
                                                          const EnvLookup& env) {
  std::map<std::string, std::string> out;
  for (const auto& kv : args) {
    auto eq = kv.find('=');
    if (kv.empty() || eq == 0) {
      return fail(Errc::kInvalidArgument, "--build-arg \"" + kv + "\": want NAME=VALUE");
    }
    if (eq == std::string::npos) {
      if (auto v = env(kv)) out[kv] = *v;
      continue;
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Result<std::map<std::string, std::string>> parseLabels(const std::vector<std::string>& labels) {
  std::map<std::string, std::string> out;
  for (const auto& kv : labels) {
    auto eq = kv.find('=');
    if (kv.empty() || eq == 0) {
      return fail(Errc::kInvalidArgument, "--label \"" + kv + "\": want KEY=VALUE");
    }
    if (eq == std::string::npos) {
      out[kv] = "";
    } else {
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return out;
}

namespace {

Result<void> setSecretField(SecretSpec& s, std::string& type, std::string_view key,
                            std::string_view value, std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("--secret \"{}\": {}", spec, why));
  };
  if (value.empty()) return bad(fmt::format("{} is empty", key));
  if (key == "id") {
    s.id = value;
  } else if (key == "src" || key == "source") {
    s.src = value;
  } else if (key == "env") {
    s.env = value;
  } else if (key == "type") {
    if (value != "file" && value != "env") return bad("type must be file or env");
    type = value;
  } else {
    return bad(fmt::format("unknown key \"{}\" (want id, src, env or type)", key));
  }
  return {};
}

}  // namespace

Result<SecretSpec> parseSecretSpec(std::string_view spec) {
  SecretSpec s;
  std::string type;
  auto bad = [&](std::string_view why) {
    return fail(
        Errc::kInvalidArgument,
        fmt::format("--secret \"{}\": {} (want id=ID,src=PATH or id=ID,env=VAR)", spec, why));
  };
  if (spec.empty()) return bad("empty");
  std::string_view rest = spec;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view field = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto eq = field.find('=');
    if (eq == std::string_view::npos) return bad(fmt::format("\"{}\" is not KEY=VALUE", field));
    HULL_TRY(setSecretField(s, type, field.substr(0, eq), field.substr(eq + 1), spec));
  }
  if (!s.src.empty() && !s.env.empty()) return bad("give src or env, not both");
  if (type == "env" && !s.src.empty()) return bad("type=env takes env=VAR, not src");
  if (type == "file" && !s.env.empty()) return bad("type=file takes src=PATH, not env");
  if (s.id.empty()) {
    if (s.src.empty()) return bad("no id");
    // buildx names a secret after its file when no id is given.
    auto slash = s.src.rfind('/');
    s.id = slash == std::string::npos ? s.src : s.src.substr(slash + 1);
    if (s.id.empty()) return bad("no id");
  }
  // id alone: the environment variable of that name (type=env) or the file of that name.
  if (s.src.empty() && s.env.empty()) {
    if (type == "file") {
      s.src = s.id;
    } else {
      s.env = s.id;
    }
  }
  return s;
}

Result<std::optional<int64_t>> sourceDateEpoch(const std::optional<std::string>& flag,
                                               const EnvLookup& env) {
  std::optional<std::string> text = flag;
  std::string from = "--source-date-epoch";
  if (!text) {
    text = env("SOURCE_DATE_EPOCH");
    from = "SOURCE_DATE_EPOCH";
    if (!text || text->empty()) return std::optional<int64_t>{};
  }
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value < 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} \"{}\": want a number of seconds since 1970", from, *text));
  }
  return std::optional<int64_t>{value};
}

Result<layer::Compression> parseCompression(std::string_view name) {
  if (name == "gzip") return layer::Compression::kGzip;
  if (name == "zstd") return layer::Compression::kZstd;
  return fail(Errc::kInvalidArgument, fmt::format("--compression \"{}\": want gzip or zstd", name));
}

StdinKind sniffStdin(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.starts_with(magic); };
  if (starts("\x1f\x8b") || starts("\x28\xb5\x2f\xfd") || starts("BZh") ||
      starts(std::string_view("\xfd"
                              "7zXZ\x00",
                              6))) {
    return StdinKind::kContextArchive;
  }
  // POSIX ustar ("ustar\0") and GNU tar ("ustar  \0") both start with "ustar" at 257.
  if (head.size() >= 262 && head.substr(257, 5) == "ustar") return StdinKind::kContextArchive;
  return StdinKind::kDockerfile;
}

}  // namespace hull::cli
