// The NVIDIA Container Toolkit's image requirements: NVIDIA_REQUIRE_* variables in the
// container's environment, e.g.
//   NVIDIA_REQUIRE_CUDA="cuda>=11.8 brand=tesla,driver>=470,driver<471"
// A space separates alternatives (OR), a comma joins constraints (AND); every NVIDIA_REQUIRE_*
// variable must hold. Keys: cuda, driver, arch (compute capability), brand; operators =, ==,
// !=, <, <=, >, >=. Without NVIDIA_REQUIRE_CUDA, CUDA_VERSION=12.4.1 means "cuda>=12.4".
// NVIDIA_DISABLE_REQUIRE (any value the toolkit reads as true) turns the check off. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gpu/version.h"

namespace hull::gpu {

enum class RequireKey { kCuda, kDriver, kArch, kBrand };
enum class RequireOp { kEq, kNe, kLt, kLe, kGt, kGe };

struct Constraint {
  RequireKey key = RequireKey::kCuda;
  RequireOp op = RequireOp::kGe;
  std::string value;               // as written: "11.8", "tesla"
  std::optional<Version> version;  // parsed for cuda, driver and arch
};

// The variables that state an image's CUDA (Requirement::variable): NVIDIA_REQUIRE_CUDA, and
// CUDA_VERSION where that is absent.
inline constexpr std::string_view kRequireCudaVar = "NVIDIA_REQUIRE_CUDA";
inline constexpr std::string_view kCudaVersionVar = "CUDA_VERSION";

struct Requirement {
  std::string variable;                               // "NVIDIA_REQUIRE_CUDA" (or "CUDA_VERSION")
  std::string text;                                   // its value as written
  std::vector<std::vector<Constraint>> alternatives;  // OR of ANDs
};

struct Requirements {
  bool disabled = false;  // NVIDIA_DISABLE_REQUIRE
  std::vector<Requirement> all;
};

// Reads the requirements from "K=V" entries (later entries win, as in a process env). A
// malformed constraint is kInvalidArgument: "NVIDIA_REQUIRE_CUDA: bad constraint "cuda>>1":
// ...".
Result<Requirements> requirementsFromEnv(const std::vector<std::string>& env);

struct GpuFacts {
  Version arch;       // compute capability, "8.0"
  std::string brand;  // "tesla", "geforce", "nvidia", ... (lower case)
};

struct HostFacts {
  Version driver;  // "550.54.14"
  Version cuda;    // newest CUDA the driver (or the forward-compat libraries in use) runs
  std::vector<GpuFacts> gpus;  // the chosen GPUs; arch and brand hold when all of them match
};

struct Verdict {
  bool ok = true;
  std::string failed;  // the requirement that failed, "NVIDIA_REQUIRE_CUDA=cuda>=12.6"
  // One line: "image needs CUDA >= 12.6 (NVIDIA_REQUIRE_CUDA=...), host driver 535.104.05
  // supports CUDA 12.2; driver >= 560.28.03 runs it"
  std::string message;
  std::optional<Version> needed_driver;  // oldest driver that satisfies the failed requirement
};

// True when the requirement names arch or brand (the caller then fills HostFacts::gpus, which
// may need NVML).
bool needsGpuFacts(const Requirements& requirements);

Verdict checkRequirements(const Requirements& requirements, const HostFacts& host);

}  // namespace hull::gpu
