// `hull build` (build.h).
#include "engine/build.h"

namespace hull::engine {

std::unique_ptr<build::Executor> makeBuildExecutor(const store::Store& store) { return nullptr; }
Result<BuildOutput> parseBuildOutput(std::string_view spec) {
  return fail(Errc::kUnsupported, "--output is not available yet");
}
Result<BuildOutcome> buildImage(const store::Store& store, const BuildRequest& request,
                                build::Progress* progress, const std::atomic<bool>* cancel) {
  return fail(Errc::kUnsupported, "hull build is not available yet");
}
Result<BuilderPruneReport> pruneBuildCache(const store::Store& store, bool dry_run) {
  return fail(Errc::kUnsupported, "hull builder prune is not available yet");
}

}  // namespace hull::engine
