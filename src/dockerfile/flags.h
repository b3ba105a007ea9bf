// Instruction flags (--name=value) as BuildKit's BFlags reads them. Internal to the module.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hull::dockerfile {

class Flags {
 public:
  explicit Flags(std::vector<std::string> args) : args_(std::move(args)) {}

  void addBool(std::string name) { defs_[std::move(name)] = Def{Type::kBool, {}, {}, false}; }
  void addString(std::string name, std::string def = "") {
    defs_[std::move(name)] = Def{Type::kString, std::move(def), {}, false};
  }
  void addStrings(std::string name) { defs_[std::move(name)] = Def{Type::kStrings, {}, {}, false}; }

  // Errors name the flag with its dashes: "unknown flag: --foo (did you mean --from?)".
  Result<void> parse();

  const std::string& str(const std::string& name) const { return defs_.at(name).value; }
  bool boolean(const std::string& name) const { return defs_.at(name).value == "true"; }
  const std::vector<std::string>& strings(const std::string& name) const {
    return defs_.at(name).values;
  }
  bool used(const std::string& name) const { return defs_.at(name).used; }

 private:
  enum class Type { kBool, kString, kStrings };
  struct Def {
    Type type;
    std::string value;
    std::vector<std::string> values;
    bool used;
  };
  std::vector<std::string> args_;
  std::map<std::string, Def> defs_;
};

}  // namespace hull::dockerfile
