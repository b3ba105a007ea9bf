// `hull pull` and the image resolution every other use case relies on: fetch an image from an
// OCI distribution registry into the store. Layers stay as pulled (compressed blobs, digests
// unchanged) and are unpacked only when a container or build needs them. Nothing is tagged until
// every blob is verified: a failed pull leaves the index as it was (blobs it added are
// unreachable until `hull system prune` sweeps them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/digest.h"
#include "base/result.h"
#include "oci/image.h"
#include "store/store.h"

namespace hull::engine {

// What the transfers of a pull or push report, from several threads at once.
struct TransferEvent {
  enum class Phase {
    kWaiting,        // queued behind other transfers
    kProgress,       // `done` of `total` bytes
    kAlreadyExists,  // the destination has it: nothing sent
    kMounted,        // push: mounted from another repository of the registry
    kComplete,       // pulled (verified and stored) or pushed
  };
  Phase phase = Phase::kWaiting;
  Digest digest;
  int64_t total = 0;
  int64_t done = 0;
  std::string from;  // kMounted: the source repository
};
using TransferObserver = std::function<void(const TransferEvent&)>;

struct PullOptions {
  std::string platform;  // "os/arch[/variant]"; empty: this machine's
  bool tls_verify = true;
  int parallel = 3;           // layers downloaded at once
  TransferObserver observer;  // may be empty
};

// A pulled (or found) image.
struct ImageRef {
  std::string name;          // the stored name ("busybox:latest"); "" for an untagged image
  oci::Descriptor manifest;  // the image manifest in the store
  Digest id;                 // the config digest (Docker's image ID)
  Digest digest;             // what the reference resolved to (an index's digest for lists)
  bool updated = false;      // false: the store already had this image under this name
};

// Pulls `ref` ("busybox", "localhost:5000/ml/serve:v1", "x@sha256:..."). A tag is stored as its
// familiar name; a reference with a digest only keeps the image untagged.
Result<ImageRef> pullImage(const store::Store& store, std::string_view ref,
                           const PullOptions& options);

// The image a name refers to in the store, pulled first when it is not there (hull run, hull
// build's FROM).
Result<ImageRef> ensureImage(const store::Store& store, std::string_view ref,
                             const PullOptions& options);

// Runs fn(0..count-1) on up to `parallel` threads; after the first failure no new item starts
// and that failure is returned once the running ones end.
// Tells the observer (if any) that every layer of a transfer waits for its turn, so progress shows
// all of them from the start.
void announceLayers(const TransferObserver& observer, const std::vector<oci::Descriptor>& layers);

Result<void> forEachParallel(std::size_t count, int parallel,
                             const std::function<Result<void>(std::size_t)>& fn);

}  // namespace hull::engine
