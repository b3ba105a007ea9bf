// Computes a layer's diff ID (sha256 of its uncompressed tar stream) from the compressed bytes
// as they arrive from the network, so that a pull reads every byte once: the download callback
// hands each chunk both to the store's BlobWriter and to this tee. Decompression runs on its own
// thread (the layer module's decompressors are pull-based readers; the download pushes), fed
// through a bounded queue so memory stays small whatever the layer size.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/digest.h"
#include "base/result.h"
#include "layer/layer.h"

namespace hull::registry {

struct DiffId {
  Digest diff_id;
  int64_t size = 0;  // uncompressed bytes
};

class DiffIdTee {
 public:
  explicit DiffIdTee(layer::Compression compression);
  ~DiffIdTee();
  DiffIdTee(const DiffIdTee&) = delete;
  DiffIdTee& operator=(const DiffIdTee&) = delete;

  // Queues a chunk (blocks while the queue is full). Fails once decompression has failed.
  Result<void> write(const char* data, std::size_t size);
  // Ends the stream and waits for the decompressor: the diff ID, or why it could not be had.
  Result<DiffId> finish();

 private:
  void run();
  Result<std::size_t> pop(void* data, std::size_t size);

  layer::Compression compression_;
  Sha256 plain_hash_;  // kNone: the blob is the tar itself
  int64_t plain_size_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  std::size_t queued_ = 0;
  std::size_t front_pos_ = 0;
  bool closed_ = false;  // no more writes
  bool done_ = false;    // the consumer stopped (end or error)
  std::optional<Error> error_;
  DiffId result_;
  std::thread thread_;
};

}  // namespace hull::registry
