// `hull push`: an image from the store to an OCI distribution registry. The manifest goes up
// byte for byte as stored, so its digest is the one the store knows; layers and config first
// (each skipped when the registry has it, mounted when another repository of the registry
// does), the manifest last.
#pragma once

#include <string>
#include <string_view>

#include "base/digest.h"
#include "base/result.h"
#include "engine/pull.h"
#include "store/store.h"

namespace hull::engine {

struct PushOptions {
  bool tls_verify = true;
  int parallel = 3;  // blobs uploaded at once
  TransferObserver observer;
};

struct PushResult {
  std::string repository;  // "localhost:5000/x" (fully qualified domain/repository)
  std::string tag;         // the tag pushed ("latest"), or "" when pushed by digest only
  Digest digest;           // of the manifest
  int64_t size = 0;        // of the manifest
};

// Pushes the image `image` (a name, ID or digest in the store) to `dest` (a reference; empty:
// the image's own name). `on_start` is told the destination repository before any transfer.
Result<PushResult> pushImage(const store::Store& store, std::string_view image,
                             std::string_view dest, const PushOptions& options,
                             const std::function<void(const std::string&)>& on_start = {});

}  // namespace hull::engine
