// A two-thread pipe for the commands that move image bytes: one thread produces a stream (reads
// a blob, inflates a layer) into a few large buffers while the caller's thread consumes them
// (hashes, writes), so the two halves use both cores instead of taking turns on one.
#pragma once

#include <cstddef>
#include <functional>

#include "base/result.h"
#include "layer/layer.h"

namespace hull::engine {

using ChunkConsumer = std::function<Result<void>(const char* data, std::size_t size)>;

// Buffers small enough to stay in a core's cache: the consumer hashes a chunk and then copies it
// into the page cache while it is still there, which on a 1 GiB layer costs about a quarter of
// the kernel time that 4 MiB chunks (read back from memory) do.
struct PipeOptions {
  std::size_t buffer_size = 256u << 10;
  std::size_t buffers = 16;  // in flight at once: the memory used is buffers * buffer_size
};

// Reads `in` to its end on a thread of its own and hands every chunk, in order, to `consume` on
// the calling thread. Chunks are full buffers except the last. The first error stops both sides
// and is returned: the consumer's, else the producer's (after the chunks read before it were
// consumed). `in` is used only by the producer thread until this returns. When no thread can be
// started the copy runs on the calling thread alone.
Result<void> pipeStream(layer::Reader& in, const ChunkConsumer& consume,
                        const PipeOptions& options = {});

}  // namespace hull::engine
