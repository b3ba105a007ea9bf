// `hull build`: the use case around build::build — the executor over hull's runtime and
// snapshots, base images found locally or pulled, the result tagged or exported (--output).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "build/build.h"
#include "store/store.h"

namespace hull::engine {

// build::Executor over the runtime: each mount is an overlay of the layers' snapshots (unpacked
// once, shared with containers) with an upper dir in tmp/; RUN is a container with Docker's
// default isolation (capabilities, seccomp, masked paths) and the step's mounts; a commit writes
// the upper dir as a layer (layer::writeDiff) and renames it into place as the layer's snapshot.
std::unique_ptr<build::Executor> makeBuildExecutor(const store::Store& store);

struct BuildOutput {
  // image (default: into the store), oci or docker (an archive as `hull save` writes, to dest;
  // "-" is stdout), local (the final root file system, into the directory dest).
  std::string type = "image";
  std::string dest;
};
// Parses --output "type=oci,dest=out.tar" (or a bare path: local).
Result<BuildOutput> parseBuildOutput(std::string_view spec);

struct BuildRequest {
  build::BuildOptions options;
  std::vector<std::string> tags;     // -t NAME[:TAG]
  bool pull = false;                 // --pull: pull every base image even when present
  std::vector<BuildOutput> outputs;  // none: type=image
  bool tls_verify = true;
};

struct BuildOutcome {
  build::BuildResult result;
  std::vector<std::string> tags;  // normalized names that now point at the image
};

// Builds and then tags / exports. A failure leaves index.json as it was.
Result<BuildOutcome> buildImage(const store::Store& store, const BuildRequest& request,
                                build::Progress* progress, const std::atomic<bool>* cancel);

struct BuilderPruneReport {
  int64_t records = 0;  // cache records removed
  int64_t bytes = 0;    // bytes freed (blobs, snapshots, cache mounts)
};
// `hull builder prune`: removes the build cache (records, cache mounts, the blobs and snapshots
// only they kept).
Result<BuilderPruneReport> pruneBuildCache(const store::Store& store, bool dry_run);

}  // namespace hull::engine
