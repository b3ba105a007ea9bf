// The builder: stages → steps → cache lookups or execution (build.h).
#include "build/build.h"

namespace hull::build {

Result<BuildResult> build(const store::Store& store, Executor& executor,
                          const ImageResolver& images, const BuildOptions& options,
                          Progress* progress, const std::atomic<bool>* cancel) {
  return fail(Errc::kUnsupported, "hull build is not available yet");
}

}  // namespace hull::build
