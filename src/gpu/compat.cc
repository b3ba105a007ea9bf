#include "gpu/compat.h"

#include <fmt/format.h>

#include "gpu/cuda_table.h"

namespace hull::gpu {
namespace {

constexpr std::string_view kLibcudaPrefix = "libcuda.so.";
constexpr std::string_view kSkipHint = "set NVIDIA_DISABLE_REQUIRE=1 to skip this check";

// "libcuda.so.550.54.15" -> 550.54.15. The toolkit looks for libcuda.so.*.*, which leaves out
// the soname link libcuda.so.1 and the dev link libcuda.so.
std::optional<Version> compatDriverOf(std::string_view name) {
  if (!name.starts_with(kLibcudaPrefix)) return std::nullopt;
  auto version = parseVersion(name.substr(kLibcudaPrefix.size()));
  if (!version || version->parts.size() < 2) return std::nullopt;
  return *std::move(version);
}

// The last CUDA_VERSION in the environment, as major.minor.
std::optional<Version> cudaVersionEnv(const std::vector<std::string>& env) {
  std::optional<Version> out;
  for (const std::string& entry : env) {
    if (!entry.starts_with(kCudaVersionVar) || entry.size() <= kCudaVersionVar.size() ||
        entry[kCudaVersionVar.size()] != '=') {
      continue;
    }
    auto version = parseVersion(std::string_view(entry).substr(kCudaVersionVar.size() + 1));
    out = version ? std::optional(Version{{version->major(), version->minor()}}) : std::nullopt;
  }
  return out;
}

// The CUDA the image was built for: the lower bound NVIDIA_REQUIRE_CUDA (or the CUDA_VERSION
// fallback) puts on cuda, else CUDA_VERSION itself.
std::optional<Version> imageCuda(const Requirements& reqs, const std::vector<std::string>& env) {
  for (const Requirement& req : reqs.all) {
    if (req.variable != kRequireCudaVar && req.variable != kCudaVersionVar) continue;
    for (const auto& alternative : req.alternatives) {
      for (const Constraint& c : alternative) {
        bool lower = c.op == RequireOp::kGe || c.op == RequireOp::kGt || c.op == RequireOp::kEq;
        if (c.key == RequireKey::kCuda && lower) return c.version;
      }
    }
  }
  return cudaVersionEnv(env);
}

std::string cudaText(const std::optional<Version>& cuda) {
  return cuda ? clipForMessage(cuda->str(), 40) : std::string("unknown");
}

std::string hostText(const CompatReport& r) {
  std::string out = fmt::format("driver {} (CUDA {})", clipForMessage(r.host_driver.str(), 40),
                                cudaText(r.host_cuda));
  if (r.compat) {
    out += fmt::format(" with cuda-compat {} (CUDA {})", clipForMessage(r.compat->driver.str(), 40),
                       cudaText(r.compat->cuda));
  }
  return out;
}

std::string okMessage(const CompatReport& r) {
  if (r.disabled) {
    return fmt::format("ok: NVIDIA_DISABLE_REQUIRE is set, requirements not checked; {}",
                       hostText(r));
  }
  if (!r.image_cuda) return fmt::format("ok: image states no CUDA requirement, {}", hostText(r));
  return fmt::format("ok: CUDA {} image, {}", cudaText(r.image_cuda), hostText(r));
}

// The CUDA refusal names what the image wants, what the host gives, and every way out.
std::string refusalMessage(const CompatReport& r, const Verdict& v) {
  bool about_cuda = v.failed.starts_with(std::string(kRequireCudaVar) + "=") ||
                    v.failed.starts_with(std::string(kCudaVersionVar) + "=");
  if (!about_cuda || !r.image_cuda) return fmt::format("{}; or {}", v.message, kSkipHint);
  std::string host = fmt::format("host driver {} supports CUDA <= {}",
                                 clipForMessage(r.host_driver.str(), 40), cudaText(r.host_cuda));
  if (r.compat) {
    host += fmt::format(" (CUDA <= {} with the image's cuda-compat {})", cudaText(r.compat->cuda),
                        clipForMessage(r.compat->driver.str(), 40));
  }
  std::string driver =
      r.needed_driver ? fmt::format("install driver >= {}", r.needed_driver->str())
                      : fmt::format("install a driver that runs CUDA {}", cudaText(r.image_cuda));
  std::string_view compat_fix = r.compat ? "use a newer cuda-compat package in the image"
                                         : "add the cuda-compat package to the image";
  return fmt::format("image needs CUDA >= {} ({}), but {}: {}, {}, or {}", cudaText(r.image_cuda),
                     clipForMessage(v.failed), host, driver, compat_fix, kSkipHint);
}

}  // namespace

std::optional<CompatLibs> usableCompatLibs(const std::vector<std::string>& file_names,
                                           const Version& host_driver) {
  std::optional<Version> newest;
  for (const std::string& name : file_names) {
    auto driver = compatDriverOf(name);
    if (driver && (!newest || *newest < *driver)) newest = std::move(driver);
  }
  // As the toolkit decides: compat libraries only help a host driver of an older branch; with
  // the same or a newer major the host's own libcuda is used.
  if (!newest || newest->major() <= host_driver.major()) return std::nullopt;
  return CompatLibs{std::string(kCompatDir), *newest, cudaForDriver(*newest)};
}

Result<CompatReport> checkCompatibility(const std::vector<std::string>& image_env,
                                        const HostFacts& host,
                                        const std::optional<CompatLibs>& compat) {
  HULL_ASSIGN_OR_RETURN(Requirements reqs, requirementsFromEnv(image_env));
  CompatReport r;
  r.disabled = reqs.disabled;
  r.image_cuda = imageCuda(reqs, image_env);
  r.host_driver = host.driver;
  r.host_cuda = host.cuda.parts.empty() ? cudaForDriver(host.driver) : std::optional(host.cuda);
  r.compat = compat;

  // The requirements see the CUDA the container will get: the compat libraries' when they
  // are injected, the host driver's otherwise.
  HostFacts effective = host;
  if (r.host_cuda) effective.cuda = *r.host_cuda;
  if (compat && compat->cuda && effective.cuda < *compat->cuda) effective.cuda = *compat->cuda;

  Verdict verdict = checkRequirements(reqs, effective);
  r.ok = verdict.ok;
  r.needed_driver = verdict.needed_driver;
  r.message = r.ok ? okMessage(r) : refusalMessage(r, verdict);
  return r;
}

}  // namespace hull::gpu
