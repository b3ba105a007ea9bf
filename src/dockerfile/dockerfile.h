// hull::dockerfile: Dockerfile text → stages of typed instructions, with BuildKit's frontend
// semantics (parser directives, ARG scoping, variable expansion, stage references, --target).
// Pure: no I/O besides the text the caller passes in.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "dockerfile/ast.h"
#include "dockerfile/instructions.h"
#include "oci/image.h"

namespace hull::dockerfile {

struct ParseOptions {
  std::string file = "Dockerfile";                // names the input in errors
  std::map<std::string, std::string> build_args;  // --build-arg K=V
  std::string target;                             // --target; "" builds the last stage
  // Values of BUILDPLATFORM/TARGETPLATFORM and friends; empty means the host platform.
  std::optional<oci::Platform> build_platform;
  std::optional<oci::Platform> target_platform;  // defaults to the build platform
  // The Env ("K=V") of the image a stage starts FROM, so that ENV and friends expand against it
  // as Docker does (`ENV PATH=/opt/bin:$PATH`). Called once per stage whose base is an image
  // (not "scratch", not an earlier stage) with the expanded base name; an error stops the parse.
  // Unset: such stages start with no variables.
  std::function<Result<std::vector<std::string>>(const std::string& base)> base_image_env;
};

struct GlobalArg {
  std::string name;
  std::optional<std::string> value;  // after build-arg override and expansion
  int line = 0;
};

struct Stage {
  int index = 0;                  // position in the Dockerfile, counting every stage
  std::string name;               // lower case; "" when unnamed
  std::string base;               // image reference or stage name, expanded
  std::optional<int> base_stage;  // set when base names an earlier stage
  std::string platform;           // --platform, expanded
  SourceRange range;              // the FROM instruction
  std::vector<Instruction> instructions;
  std::vector<int> depends_on;  // stages this one needs, sorted
};

struct Dockerfile {
  std::string file;
  std::vector<Directive> directives;
  char escape = '\\';
  std::vector<GlobalArg> global_args;
  std::vector<Stage> stages;                      // only the stages the target needs, in file order
  int target = 0;                                 // index of the target stage
  std::map<std::string, std::string> proxy_args;  // predefined args given as build args
  std::vector<Warning> warnings;
};

// Build arguments Docker predefines: usable in RUN without an ARG, kept out of the image.
bool isProxyArg(std::string_view name);

Result<Dockerfile> parse(std::string_view text, const ParseOptions& options = {});

// The JSON encoding documented in docs/dockerfile-parse.md.
Json toJson(const Dockerfile& d);
Json toJson(const Instruction& i);
// A compact listing for people.
std::string toText(const Dockerfile& d);

}  // namespace hull::dockerfile
