// hull::build — Dockerfile stages become an image, step by step, with a layer cache keyed by
// content (docs/build-cache.md). The builder plans the steps, computes each step's cache key,
// reuses what the cache holds and runs the rest: COPY/ADD itself (build/copy.h), RUN through an
// Executor that the engine implements with the runtime (DESIGN.md: build never includes
// runtime). Independent stages build concurrently.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "base/result.h"
#include "layer/layer.h"
#include "oci/image.h"
#include "store/store.h"

namespace hull::build {

// One layer of an image: the blob as stored and the digest of its uncompressed tar.
struct Layer {
  oci::Descriptor blob;
  Digest diff_id;
  friend bool operator==(const Layer&, const Layer&) = default;
};

// What a stage holds after some steps: its layers (bottom first) and its image config, whose
// diff_ids and history follow the layers.
struct ImageState {
  std::vector<Layer> layers;
  oci::ImageConfig config;
};

// An image a build starts from or copies from (FROM, COPY --from=IMAGE, RUN --mount=from=IMAGE).
struct BaseImage {
  std::string ref;           // as the Dockerfile names it, normalized
  oci::Descriptor manifest;  // in the store
  ImageState state;
};
// Finds an image by reference: locally, or pulled (hull build --pull, or missing locally).
using ImageResolver = std::function<Result<BaseImage>(std::string_view ref)>;

// A writable root file system mounted for one step: an overlay of some layers whose changes go
// to an upper directory of its own. Destroying it unmounts it and discards what was not
// committed.
class Mounted {
 public:
  virtual ~Mounted() = default;
  virtual const fs::path& root() const = 0;  // the merged view, a directory on the host
};

// A mount of a RUN step, with its host side resolved by the builder.
struct RunMount {
  enum class Kind { kBind, kTmpfs };
  Kind kind = Kind::kBind;
  fs::path source;     // kBind: a file or directory on the host
  std::string target;  // absolute path in the container
  bool readonly = true;
  std::optional<int64_t> size;   // kTmpfs: bytes
  std::optional<uint32_t> mode;  // kTmpfs
};

// A CDI device a RUN step asks for (RUN --device=NAME[,required]).
struct RunDevice {
  std::string name;  // "vendor.com/class=name"
  bool required = false;
  friend bool operator==(const RunDevice&, const RunDevice&) = default;
};

struct RunRequest {
  std::vector<std::string> args;  // argv; the shell form already has the SHELL prepended
  std::vector<std::string> env;   // "K=V", the whole environment
  std::string user;     // as USER has it ("", "name", "uid:gid", ...); resolved in the root
  std::string workdir;  // absolute; created if missing
  std::string network = "default";  // default (the host's network), host or none
  std::vector<RunMount> mounts;
  // Given to the step through CDI. A device that is not required and not available is left
  // out, with a word to `warn`.
  std::vector<RunDevice> devices;
  std::function<void(const std::string&)> warn;
  // stdout and stderr of the process, as they come (may be called from another thread).
  std::function<void(std::string_view)> output;
  const std::atomic<bool>* cancel = nullptr;  // set: kill the process and fail with kCancelled
};

struct CommitOptions {
  layer::Compression compression = layer::Compression::kGzip;
  // Reproducible output: every timestamp in the layer clamped to this (SOURCE_DATE_EPOCH).
  std::optional<int64_t> source_date_epoch;
};

// What the builder needs from the machine. Implementations must allow calls from several
// threads (one per stage building concurrently).
class Executor {
 public:
  virtual ~Executor() = default;
  // Mounts a writable root over `layers` (bottom first; none gives an empty root), unpacking
  // layers that have no snapshot yet.
  virtual Result<std::unique_ptr<Mounted>> mount(const std::vector<Layer>& layers) = 0;
  // Runs one process in a mounted root and waits for it; returns its exit status (Docker's
  // way: 127 not found, 126 not executable, 128+n killed by signal n).
  virtual Result<int> run(Mounted& root, const RunRequest& request) = 0;
  // Unmounts the root and makes its changes a layer in the store (the upper directory becomes
  // the layer's snapshot). nullopt when nothing changed.
  virtual Result<std::optional<Layer>> commit(std::unique_ptr<Mounted> root,
                                              const CommitOptions& options) = 0;
};

struct BuildOptions {
  fs::path context;        // the build context directory; empty when there is none
  std::string dockerfile;  // its text
  std::string dockerfile_name = "Dockerfile";  // for errors
  std::map<std::string, std::string> build_args;
  std::string target;  // stage name; "" is the last stage
  bool no_cache = false;
  std::map<std::string, std::string> secrets;  // id → content (--secret)
  std::string network = "default";             // --network: default, host or none
  layer::Compression compression = layer::Compression::kGzip;
  std::optional<int64_t> source_date_epoch;
  std::map<std::string, std::string> labels;  // --label, on the final image
  int max_parallel_stages = 2;
};

// Where a step is, for progress output.
struct StepEvent {
  int stage = 0;           // stage index in the Dockerfile
  std::string stage_name;  // "" when unnamed
  int step = 0;            // 1-based within the build
  int steps = 0;           // steps in the whole build
  std::string text;        // "RUN pip install -r requirements.txt" (the instruction as written)
};

// Observer of a build. Called from the stage threads: implementations serialize output.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void stepStarted(const StepEvent&) {}
  virtual void stepCached(const StepEvent&) {}
  virtual void stepOutput(const StepEvent&, std::string_view) {}
  virtual void stepDone(const StepEvent&, double /*seconds*/) {}
  virtual void warning(const std::string&) {}
};

struct BuildResult {
  oci::Descriptor manifest;  // the image manifest, in the store (config and layers too)
  Digest config_digest;      // the image ID
  ImageState image;
  std::vector<std::string> warnings;  // "Dockerfile:LINE: text"
  int steps = 0;                      // steps of the stages built
  int cached = 0;                     // of which came from the cache
};

// Builds the target stage of options.dockerfile. Nothing is tagged: the caller names the result.
// On failure (a RUN exiting non-zero, a missing COPY source, cancel set) nothing of the failed
// step is kept; the steps before it stay in the cache. Errors name the Dockerfile line.
Result<BuildResult> build(const store::Store& store, Executor& executor,
                          const ImageResolver& images, const BuildOptions& options,
                          Progress* progress = nullptr, const std::atomic<bool>* cancel = nullptr);

}  // namespace hull::build
