#include "dockerfile/flags.h"

#include "dockerfile/text.h"

namespace hull::dockerfile {

Result<void> Flags::parse() {
  for (const auto& raw : args_) {
    if (raw.rfind("--", 0) != 0) {
      return fail(Errc::kInvalidArgument, "arg should start with -- : " + raw);
    }
    if (raw == "--") return {};
    std::string_view arg = std::string_view(raw).substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
      has_value = true;
    }
    std::string name(arg);
    auto it = defs_.find(name);
    if (it == defs_.end()) {
      std::vector<std::string> known;
      for (const auto& [k, d] : defs_) known.push_back(k);
      std::string msg = "unknown flag: --" + name;
      if (auto s = suggest(name, known); !s.empty()) msg += " (did you mean --" + s + "?)";
      return fail(Errc::kInvalidArgument, msg);
    }
    Def& def = it->second;
    if (def.used && def.type != Type::kStrings) {
      return fail(Errc::kInvalidArgument, "duplicate flag specified: --" + name);
    }
    def.used = true;
    switch (def.type) {
      case Type::kBool: {
        if (has_value && value.empty()) {
          return fail(Errc::kInvalidArgument, "missing a value on flag: --" + name);
        }
        std::string lower = asciiLower(value);
        if (lower.empty())
          def.value = "true";
        else if (lower == "true" || lower == "false")
          def.value = lower;
        else {
          return fail(Errc::kInvalidArgument,
                      "expecting boolean value for flag --" + name + ", not: " + value);
        }
        break;
      }
      case Type::kString:
      case Type::kStrings:
        if (!has_value) return fail(Errc::kInvalidArgument, "missing a value on flag: --" + name);
        if (def.type == Type::kString)
          def.value = std::move(value);
        else
          def.values.push_back(std::move(value));
        break;
    }
  }
  return {};
}

}  // namespace hull::dockerfile
