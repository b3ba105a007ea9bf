#include "gpu/require.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gpu/cuda_table.h"

namespace hull::gpu {
namespace {

constexpr std::string_view kRequirePrefix = "NVIDIA_REQUIRE_";
// The toolkit leaves NVIDIA_REQUIRE_JETPACK* to the Jetson tooling and does not check it.
constexpr std::string_view kJetpackPrefix = "NVIDIA_REQUIRE_JETPACK";
constexpr std::string_view kDisableRequire = "NVIDIA_DISABLE_REQUIRE";

// "K=V" entries as a process sees them: the last one of a name wins; entries without '=' set
// nothing.
std::map<std::string, std::string, std::less<>> envMap(const std::vector<std::string>& env) {
  std::map<std::string, std::string, std::less<>> out;
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

// The toolkit reads NVIDIA_DISABLE_REQUIRE with Go's strconv.ParseBool; anything outside its
// true set (including a malformed value) leaves the check on.
bool toolkitTrue(std::string_view value) {
  constexpr std::array<std::string_view, 6> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  return std::find(kTrue.begin(), kTrue.end(), value) != kTrue.end();
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct KeyName {
  std::string_view name;
  RequireKey key;
};
constexpr std::array<KeyName, 4> kKeys = {{{"cuda", RequireKey::kCuda},
                                           {"driver", RequireKey::kDriver},
                                           {"arch", RequireKey::kArch},
                                           {"brand", RequireKey::kBrand}}};

struct OpName {
  std::string_view name;
  RequireOp op;
};
// "==" is hull's alias of the toolkit's "=".
constexpr std::array<OpName, 7> kOps = {{{"=", RequireOp::kEq},
                                         {"==", RequireOp::kEq},
                                         {"!=", RequireOp::kNe},
                                         {"<", RequireOp::kLt},
                                         {"<=", RequireOp::kLe},
                                         {">", RequireOp::kGt},
                                         {">=", RequireOp::kGe}}};

std::string_view opText(RequireOp op) {
  switch (op) {
    case RequireOp::kEq:
      return "=";
    case RequireOp::kNe:
      return "!=";
    case RequireOp::kLt:
      return "<";
    case RequireOp::kLe:
      return "<=";
    case RequireOp::kGt:
      return ">";
    case RequireOp::kGe:
      return ">=";
  }
  return "?";
}

std::string_view keyLabel(RequireKey key) {
  switch (key) {
    case RequireKey::kCuda:
      return "CUDA";
    case RequireKey::kDriver:
      return "driver";
    case RequireKey::kArch:
      return "compute capability";
    case RequireKey::kBrand:
      return "brand";
  }
  return "?";
}

bool isBrandName(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// "cuda>=12.4" -> key, operator, value. The error is the reason alone; the caller names the
// variable and the constraint.
Result<Constraint> parseConstraint(std::string_view text) {
  constexpr std::string_view kOpChars = "<>=!";
  size_t op_start = text.find_first_of(kOpChars);
  if (op_start == std::string_view::npos) return fail(Errc::kInvalidArgument, "no operator");
  if (op_start == 0) return fail(Errc::kInvalidArgument, "no key before the operator");
  std::string_view key = text.substr(0, op_start);
  size_t op_end = text.find_first_not_of(kOpChars, op_start);
  if (op_end == std::string_view::npos) op_end = text.size();
  std::string_view op = text.substr(op_start, op_end - op_start);
  std::string_view value = text.substr(op_end);

  Constraint c;
  auto k = std::find_if(kKeys.begin(), kKeys.end(),
                        [&](const KeyName& n) { return equalsIgnoreCase(n.name, key); });
  if (k == kKeys.end()) {
    return fail(Errc::kInvalidArgument,
                "unknown key " + quoteForMessage(key) + " (cuda, driver, arch or brand)");
  }
  c.key = k->key;
  auto o = std::find_if(kOps.begin(), kOps.end(), [&](const OpName& n) { return n.name == op; });
  if (o == kOps.end()) {
    return fail(Errc::kInvalidArgument, "unknown operator " + quoteForMessage(op));
  }
  c.op = o->op;
  if (value.empty()) return fail(Errc::kInvalidArgument, "no value after the operator");
  c.value = std::string(value);
  if (c.key == RequireKey::kBrand) {
    if (c.op != RequireOp::kEq && c.op != RequireOp::kNe) {
      return fail(Errc::kInvalidArgument, "brand takes = or != only");
    }
    if (!isBrandName(value)) {
      return fail(Errc::kInvalidArgument, "bad brand " + quoteForMessage(value));
    }
    return c;
  }
  HULL_ASSIGN_OR_RETURN(c.version, parseVersion(value));
  return c;
}

// Space-separated alternatives (runs of spaces separate one, as in the toolkit), each a
// comma-separated list of constraints. nullopt for a value with no constraint at all.
Result<std::optional<Requirement>> parseRequirement(std::string_view variable,
                                                    std::string_view text) {
  Requirement req{std::string(variable), std::string(text), {}};
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    std::string_view alternative = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (alternative.empty()) continue;
    std::vector<Constraint> all;
    for (size_t start = 0; start <= alternative.size();) {
      size_t comma = std::min(alternative.find(',', start), alternative.size());
      std::string_view piece = alternative.substr(start, comma - start);
      if (piece.empty()) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("{}: empty constraint in {}", clipForMessage(variable, 60),
                                quoteForMessage(alternative)));
      }
      auto constraint = parseConstraint(piece);
      if (!constraint) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("{}: bad constraint {}: {}", clipForMessage(variable, 60),
                                quoteForMessage(piece), constraint.error().message));
      }
      all.push_back(*std::move(constraint));
      start = comma + 1;
    }
    req.alternatives.push_back(std::move(all));
  }
  if (req.alternatives.empty()) return std::optional<Requirement>();
  return std::optional<Requirement>(std::move(req));
}

// A legacy image (CUDA_VERSION without NVIDIA_REQUIRE_CUDA) needs its CUDA's major.minor.
Result<Requirement> legacyRequirement(std::string_view cuda_version) {
  auto version = parseVersion(cuda_version);
  if (!version) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: {}", kCudaVersionVar, version.error().message));
  }
  Constraint c;
  c.key = RequireKey::kCuda;
  c.op = RequireOp::kGe;
  c.value = fmt::format("{}.{}", version->major(), version->minor());
  c.version = Version{{version->major(), version->minor()}, c.value};
  return Requirement{std::string(kCudaVersionVar), std::string(cuda_version), {{std::move(c)}}};
}

bool compareVersions(const Version& have, RequireOp op, const Version& want) {
  switch (op) {
    case RequireOp::kEq:
      return have == want;
    case RequireOp::kNe:
      return have != want;
    case RequireOp::kLt:
      return have < want;
    case RequireOp::kLe:
      return have <= want;
    case RequireOp::kGt:
      return have > want;
    case RequireOp::kGe:
      return have >= want;
  }
  return false;
}

// arch and brand describe GPUs: they hold when every chosen GPU matches, and with no GPU to
// look at they hold, as in libnvidia-container (which checks per visible device, and without
// devices treats arch and brand as met).
bool holds(const Constraint& c, const HostFacts& host) {
  switch (c.key) {
    case RequireKey::kCuda:
      return compareVersions(host.cuda, c.op, *c.version);
    case RequireKey::kDriver:
      return compareVersions(host.driver, c.op, *c.version);
    case RequireKey::kArch:
      return std::all_of(host.gpus.begin(), host.gpus.end(), [&](const GpuFacts& gpu) {
        return compareVersions(gpu.arch, c.op, *c.version);
      });
    case RequireKey::kBrand:
      return std::all_of(host.gpus.begin(), host.gpus.end(), [&](const GpuFacts& gpu) {
        return equalsIgnoreCase(gpu.brand, c.value) == (c.op == RequireOp::kEq);
      });
  }
  return false;
}

bool holds(const std::vector<Constraint>& alternative, const HostFacts& host) {
  return std::all_of(alternative.begin(), alternative.end(),
                     [&](const Constraint& c) { return holds(c, host); });
}

bool holds(const Requirement& req, const HostFacts& host) {
  return std::any_of(req.alternatives.begin(), req.alternatives.end(),
                     [&](const auto& alternative) { return holds(alternative, host); });
}

// The oldest driver whose table CUDA is at least (or, `strict`, above) `cuda`. A driver
// reports only major.minor, so cuda>=12.4.1 takes 12.5's driver.
std::optional<Version> driverForCudaAbove(const Version& cuda, bool strict) {
  for (const CudaDriverRow& row : cudaDriverTable()) {
    if (strict ? row.cuda > cuda : row.cuda >= cuda) return row.min_driver;
  }
  return std::nullopt;
}

// The driver that the lower bounds of one alternative ask for: the table's driver for a CUDA,
// X itself for driver>=X. nullopt when no newer driver can be named (no lower bound, a CUDA
// newer than the table, driver>X).
std::optional<Version> lowerBoundDriver(const std::vector<Constraint>& alternative) {
  std::optional<Version> bound;
  for (const Constraint& c : alternative) {
    std::optional<Version> need;
    if (c.key == RequireKey::kCuda &&
        (c.op == RequireOp::kGe || c.op == RequireOp::kEq || c.op == RequireOp::kGt)) {
      need = driverForCudaAbove(*c.version, c.op == RequireOp::kGt);
      if (!need) return std::nullopt;
    } else if (c.key == RequireKey::kDriver && (c.op == RequireOp::kGe || c.op == RequireOp::kEq)) {
      need = c.version;
    } else if (c.key == RequireKey::kDriver && c.op == RequireOp::kGt) {
      return std::nullopt;
    }
    if (need && (!bound || *bound < *need)) bound = need;
  }
  return bound;
}

// The oldest driver newer than the host's with which some alternative holds, the GPUs staying
// as they are.
std::optional<Version> neededDriver(const Requirement& req, const HostFacts& host) {
  std::optional<Version> best;
  for (const auto& alternative : req.alternatives) {
    auto candidate = lowerBoundDriver(alternative);
    if (!candidate || *candidate <= host.driver) continue;
    HostFacts upgraded = host;
    upgraded.driver = *candidate;
    if (auto cuda = cudaForDriver(*candidate); cuda && upgraded.cuda < *cuda) upgraded.cuda = *cuda;
    if (!holds(alternative, upgraded)) continue;
    if (!best || *candidate < *best) best = candidate;
  }
  return best;
}

std::string describe(const std::vector<Constraint>& alternative) {
  std::string out;
  for (const Constraint& c : alternative) {
    if (!out.empty()) out += " and ";
    out += fmt::format("{} {} {}", keyLabel(c.key), opText(c.op), clipForMessage(c.value, 40));
  }
  return out;
}

bool mentionsGpus(const Requirement& req) {
  for (const auto& alternative : req.alternatives) {
    for (const Constraint& c : alternative) {
      if (c.key == RequireKey::kArch || c.key == RequireKey::kBrand) return true;
    }
  }
  return false;
}

std::string describeHost(const Requirement& req, const HostFacts& host) {
  std::string cuda = host.cuda.parts.empty() ? "an unknown" : host.cuda.str();
  std::string out = fmt::format("host driver {} supports CUDA {}",
                                clipForMessage(host.driver.str(), 40), clipForMessage(cuda, 40));
  if (!mentionsGpus(req) || host.gpus.empty()) return out;
  std::vector<std::string> gpus;
  for (const GpuFacts& gpu : host.gpus) {
    gpus.push_back(fmt::format("{} arch {}", clipForMessage(gpu.brand, 40), gpu.arch.str()));
  }
  return fmt::format("{}, GPUs: {}", out, fmt::join(gpus, ", "));
}

}  // namespace

Result<Requirements> requirementsFromEnv(const std::vector<std::string>& env) {
  auto vars = envMap(env);
  Requirements out;
  auto disable = vars.find(kDisableRequire);
  out.disabled = disable != vars.end() && toolkitTrue(disable->second);
  // With the check disabled the requirements are still read, for display, but one that does
  // not parse is dropped rather than refused: the toolkit does not read them at all then.
  for (const auto& [name, value] : vars) {
    if (!name.starts_with(kRequirePrefix) || name.starts_with(kJetpackPrefix)) continue;
    auto req = parseRequirement(name, value);
    if (!req) {
      if (out.disabled) continue;
      return fail(std::move(req).error());
    }
    if (*req) out.all.push_back(**std::move(req));
  }
  auto require_cuda = vars.find(kRequireCudaVar);
  auto cuda_version = vars.find(kCudaVersionVar);
  bool legacy = cuda_version != vars.end() && !cuda_version->second.empty() &&
                (require_cuda == vars.end() || require_cuda->second.empty());
  if (legacy) {
    auto req = legacyRequirement(cuda_version->second);
    if (req) {
      out.all.push_back(*std::move(req));
    } else if (!out.disabled) {
      return fail(std::move(req).error());
    }
  }
  return out;
}

bool needsGpuFacts(const Requirements& requirements) {
  return std::any_of(requirements.all.begin(), requirements.all.end(), mentionsGpus);
}

Verdict checkRequirements(const Requirements& requirements, const HostFacts& host) {
  if (requirements.disabled) return {};
  for (const Requirement& req : requirements.all) {
    if (holds(req, host)) continue;
    Verdict v;
    v.ok = false;
    v.failed = req.variable + "=" + req.text;
    v.needed_driver = neededDriver(req, host);
    std::string fix = v.needed_driver ? fmt::format("driver >= {} runs it", v.needed_driver->str())
                                      : std::string("no newer driver alone satisfies it");
    v.message = fmt::format("image needs {} ({}), {}; {}", describe(req.alternatives.front()),
                            clipForMessage(v.failed), describeHost(req, host), fix);
    return v;
  }
  return {};
}

}  // namespace hull::gpu
