// RUN --mount (run_mounts.h).
#include "build/run_mounts.h"

namespace hull::build {

struct RunMounts::State {
  std::vector<RunMount> mounts;
  std::vector<std::string> env;
};
RunMounts::RunMounts(std::unique_ptr<State> state) : state_(std::move(state)) {}
RunMounts::RunMounts(RunMounts&&) noexcept = default;
RunMounts& RunMounts::operator=(RunMounts&&) noexcept = default;
RunMounts::~RunMounts() = default;
Result<RunMounts> RunMounts::resolve(const std::vector<dockerfile::Mount>& mounts,
                                     const MountEnv& env) {
  return fail(Errc::kUnsupported, "RUN --mount is not available yet");
}
const std::vector<RunMount>& RunMounts::mounts() const { return state_->mounts; }
std::vector<std::string> RunMounts::env() const { return state_->env; }
std::vector<std::string> canonicalMounts(
    const std::vector<dockerfile::Mount>& mounts,
    const std::function<Digest(const dockerfile::Mount&)>& from_key) {
  return {};
}

}  // namespace hull::build
