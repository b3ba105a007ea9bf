// The flags of `hull build` turned into values, without touching the system: build args, labels,
// secret specs, SOURCE_DATE_EPOCH, the compression name, and what a build reads from stdin. Kept
// apart from build.cc so the rules are unit-tested (tests/cli/build_flags_test.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "layer/layer.h"

namespace hull::cli {

// Looks up an environment variable (std::getenv in the command, a map in tests).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup processEnv();

// --build-arg NAME=VALUE; NAME alone takes the value from the environment and is left out when
// the environment has none (as docker build and `hull dockerfile parse` do).
Result<std::map<std::string, std::string>> parseBuildArgs(const std::vector<std::string>& args,
                                                          const EnvLookup& env);

// --label K=V; K alone is an empty label (Docker's way).
Result<std::map<std::string, std::string>> parseLabels(const std::vector<std::string>& labels);

// --secret id=ID,src=PATH | id=ID,env=VAR (also source=, type=file|env; BuildKit's spelling).
struct SecretSpec {
  std::string id;
  std::string src;  // a file on the host
  std::string env;  // an environment variable
};
Result<SecretSpec> parseSecretSpec(std::string_view spec);
// BuildKit refuses secrets larger than this.
inline constexpr std::size_t kMaxSecretSize = 500 * 1024;

// The epoch from --source-date-epoch when given, else from $SOURCE_DATE_EPOCH when set and not
// empty; either must be a non-negative number of seconds.
Result<std::optional<int64_t>> sourceDateEpoch(const std::optional<std::string>& flag,
                                               const EnvLookup& env);

// --compression gzip|zstd.
Result<layer::Compression> parseCompression(std::string_view name);

// What a build reads from stdin when CONTEXT is "-": a tar archive (plain, or gzip, zstd, bzip2
// or xz compressed, sniffed from its first bytes) is the context; anything else is the
// Dockerfile, with no context.
enum class StdinKind { kContextArchive, kDockerfile };
StdinKind sniffStdin(std::string_view head);
// Bytes sniffStdin needs to see (a tar header's magic sits at offset 257).
inline constexpr std::size_t kSniffSize = 512;

}  // namespace hull::cli
