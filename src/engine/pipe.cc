#include "engine/pipe.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace hull::engine {
namespace {

struct Chunk {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
};

// Reads until the buffer is full or the stream ends; a short count means the end.
Result<std::size_t> fill(layer::Reader& in, char* buf, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, in.read(buf + got, size - got));
    if (n == 0) break;
    got += n;
  }
  return got;
}

Result<void> copyInline(layer::Reader& in, const ChunkConsumer& consume, std::size_t size) {
  std::unique_ptr<char[]> buf(new char[size]);
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, fill(in, buf.get(), size));
    if (n > 0) HULL_TRY(consume(buf.get(), n));
    if (n < size) return {};
  }
}

// The queues between the two threads. Buffers go round: free -> producer -> full -> consumer.
class Pipe {
 public:
  Pipe(layer::Reader& in, const PipeOptions& options) : in_(in), size_(options.buffer_size) {
    for (std::size_t i = 0; i < options.buffers; ++i) {
      free_.push_back(Chunk{std::unique_ptr<char[]>(new char[size_]), 0});
    }
  }

  void produce() {
    while (true) {
      Chunk c;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopped_ || !free_.empty(); });
        if (stopped_) return;
        c = std::move(free_.front());
        free_.pop_front();
      }
      Result<std::size_t> n = fill(in_, c.data.get(), size_);
      bool last = !n || *n < size_;
      {
        std::lock_guard lock(mu_);
        if (!n) error_ = std::move(n).error();
        c.size = n ? *n : 0;
        if (c.size > 0) full_.push_back(std::move(c));
        ended_ = last;
      }
      cv_.notify_all();
      if (last) return;
    }
  }

  // Runs on the caller's thread until the stream ends or either side fails.
  Result<void> consume(const ChunkConsumer& consume) {
    while (true) {
      Chunk c;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return ended_ || !full_.empty(); });
        if (full_.empty()) break;
        c = std::move(full_.front());
        full_.pop_front();
      }
      Result<void> r = consume(c.data.get(), c.size);
      {
        std::lock_guard lock(mu_);
        free_.push_back(std::move(c));
        if (!r) stopped_ = true;
      }
      cv_.notify_all();
      if (!r) return r;
    }
    std::lock_guard lock(mu_);
    if (error_) return fail(*error_);
    return {};
  }

 private:
  layer::Reader& in_;
  const std::size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> free_, full_;  // guarded by mu_
  bool ended_ = false;             // the producer is done (end or error); guarded by mu_
  bool stopped_ = false;           // the consumer gave up; guarded by mu_
  std::optional<Error> error_;     // the producer's; guarded by mu_
};

}  // namespace

Result<void> pipeStream(layer::Reader& in, const ChunkConsumer& consume,
                        const PipeOptions& options) {
  std::size_t size = options.buffer_size > 0 ? options.buffer_size : 1;
  if (options.buffers < 2) return copyInline(in, consume, size);
  Pipe pipe(in, {size, options.buffers});
  std::thread producer;
  try {
    producer = std::thread([&pipe] { pipe.produce(); });
  } catch (const std::system_error&) {
    // No thread to be had (a process or memory limit): the same copy, taking turns.
    return copyInline(in, consume, size);
  }
  Result<void> result = pipe.consume(consume);
  producer.join();
  return result;
}

}  // namespace hull::engine
