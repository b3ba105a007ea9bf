// Compression on all cores.
//
// Gzip follows pigz: the input is cut into fixed blocks, each block is raw-deflated on its own by
// a worker (primed with the last 32 KiB of the previous block, so the ratio barely suffers),
// ended with a sync flush so blocks join on a byte boundary, and the caller's thread writes the
// blocks in order under one gzip header and trailer (CRCs joined with crc32_combine). Block
// boundaries depend only on the input, so the bytes do not depend on the thread count.
// Zstd uses libzstd's own workers; with at least one worker its output is the same for any
// worker count.
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "layer/internal.h"
#include "layer/layer.h"

namespace hull::layer {

using detail::kBlockSize;

namespace {

// Level 1: about 30% less CPU than level 4 and half of level 6, for output some 5-10% larger;
// layer import and build are on the hot path, and zstd is there for those who want both.
constexpr int kDefaultGzipLevel = 1;
constexpr int kDefaultZstdLevel = 3;
constexpr std::size_t kDictSize = 32u << 10;

int threadCount(int threads) {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

class PlainWriter : public Writer {
 public:
  explicit PlainWriter(Writer& out) : out_(out) {}
  Result<void> write(const void* data, std::size_t size) override { return out_.write(data, size); }
  Result<void> finish() override { return out_.finish(); }

 private:
  Writer& out_;
};

struct GzipJob {
  std::vector<unsigned char> input;
  std::vector<unsigned char> dict;
  std::vector<unsigned char> output;
  uLong crc = 0;
  bool last = false;
  bool done = false;
  bool failed = false;
};

class GzipWriter : public Writer {
 public:
  GzipWriter(Writer& out, int threads, int level)
      : out_(out), level_(level), max_pending_(2 * static_cast<std::size_t>(threads) + 1) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
    current_ = newJob();
  }
  ~GzipWriter() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  Result<void> write(const void* data, std::size_t size) override {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
      std::size_t n = std::min(size, kBlockSize - current_->input.size());
      current_->input.insert(current_->input.end(), p, p + n);
      p += n;
      size -= n;
      if (current_->input.size() == kBlockSize) HULL_TRY(submit(false));
    }
    return {};
  }

  Result<void> finish() override {
    HULL_TRY(submit(true));
    while (!pending_.empty()) HULL_TRY(emitFront());
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
    for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));
    HULL_TRY(out_.write(trailer, sizeof trailer));
    return out_.finish();
  }

 private:
  std::unique_ptr<GzipJob> newJob() {
    std::unique_ptr<GzipJob> job;
    if (!free_.empty()) {
      job = std::move(free_.back());
      free_.pop_back();
      job->input.clear();
      job->done = job->failed = false;
    } else {
      job = std::make_unique<GzipJob>();
      job->input.reserve(kBlockSize);
    }
    job->dict.assign(dict_.begin(), dict_.end());
    return job;
  }

  Result<void> submit(bool last) {
    // The next block is primed with this block's tail.
    const auto& in = current_->input;
    std::size_t keep = std::min(in.size(), kDictSize);
    dict_.assign(in.end() - static_cast<std::ptrdiff_t>(keep), in.end());
    current_->last = last;
    GzipJob* job = current_.get();
    pending_.push_back(std::move(current_));
    {
      std::lock_guard lock(mu_);
      queue_.push_back(job);
    }
    work_cv_.notify_one();
    while (pending_.size() >= max_pending_) HULL_TRY(emitFront());
    if (!last) current_ = newJob();
    return {};
  }

  // Waits for the oldest block and writes it out: blocks leave in input order.
  Result<void> emitFront() {
    GzipJob* job = pending_.front().get();
    {
      std::unique_lock lock(mu_);
      done_cv_.wait(lock, [&] { return job->done; });
    }
    if (job->failed) return fail(Errc::kInternal, "gzip: deflate failed");
    if (!header_written_) {
      // mtime 0, no name: the same input always gives the same bytes.
      static constexpr unsigned char kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
      HULL_TRY(out_.write(kHeader, sizeof kHeader));
      header_written_ = true;
    }
    HULL_TRY(out_.write(job->output.data(), job->output.size()));
    crc_ = crc32_combine(crc_, job->crc, static_cast<z_off_t>(job->input.size()));
    total_ += job->input.size();
    free_.push_back(std::move(pending_.front()));
    pending_.pop_front();
    return {};
  }

  void workerLoop() {
    z_stream z{};
    bool ok = deflateInit2(&z, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    while (true) {
      GzipJob* job;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) break;
        job = queue_.front();
        queue_.pop_front();
      }
      bool job_ok = ok && compress(z, *job);
      {
        std::lock_guard lock(mu_);
        job->failed = !job_ok;
        job->done = true;
      }
      done_cv_.notify_all();
    }
    if (ok) deflateEnd(&z);
  }

  static bool compress(z_stream& z, GzipJob& job) {
    job.crc = crc32(0, job.input.data(), static_cast<uInt>(job.input.size()));
    if (deflateReset(&z) != Z_OK) return false;
    if (!job.dict.empty() &&
        deflateSetDictionary(&z, job.dict.data(), static_cast<uInt>(job.dict.size())) != Z_OK) {
      return false;
    }
    job.output.resize(deflateBound(&z, job.input.size()) + 64);
    z.next_in = job.input.data();
    z.avail_in = static_cast<uInt>(job.input.size());
    std::size_t produced = 0;
    int flush = job.last ? Z_FINISH : Z_SYNC_FLUSH;
    while (true) {
      z.next_out = job.output.data() + produced;
      z.avail_out = static_cast<uInt>(job.output.size() - produced);
      int rc = deflate(&z, flush);
      produced = job.output.size() - z.avail_out;
      if (rc == Z_STREAM_ERROR) return false;
      if (job.last ? rc == Z_STREAM_END : (z.avail_in == 0 && z.avail_out > 0)) break;
      job.output.resize(job.output.size() * 2);
    }
    job.output.resize(produced);
    return true;
  }

  Writer& out_;
  int level_;
  std::size_t max_pending_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<GzipJob*> queue_;  // guarded by mu_
  bool stop_ = false;           // guarded by mu_

  std::unique_ptr<GzipJob> current_;
  std::deque<std::unique_ptr<GzipJob>> pending_;
  std::vector<std::unique_ptr<GzipJob>> free_;
  std::vector<unsigned char> dict_;
  uLong crc_ = 0;
  uint64_t total_ = 0;
  bool header_written_ = false;
};

class ZstdWriter : public Writer {
 public:
  ZstdWriter(Writer& out, int threads, int level)
      : out_(out), cctx_(ZSTD_createCCtx()), buffer_(ZSTD_CStreamOutSize() * 8) {
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    // Always at least one worker: libzstd's output then does not depend on the worker count.
    init_error_ = ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, threads));
  }
  ~ZstdWriter() override { ZSTD_freeCCtx(cctx_); }

  Result<void> write(const void* data, std::size_t size) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) HULL_TRY(step(&in, ZSTD_e_continue).map([](std::size_t) {}));
    return {};
  }

  Result<void> finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (true) {
      HULL_ASSIGN_OR_RETURN(std::size_t remaining, step(&in, ZSTD_e_end));
      if (remaining == 0) break;
    }
    HULL_TRY(flush());
    return out_.finish();
  }

 private:
  Result<std::size_t> step(ZSTD_inBuffer* in, ZSTD_EndDirective mode) {
    if (init_error_) return fail(Errc::kUnsupported, "zstd: this libzstd has no worker threads");
    ZSTD_outBuffer out{buffer_.data() + used_, buffer_.size() - used_, 0};
    std::size_t rc = ZSTD_compressStream2(cctx_, &out, in, mode);
    if (ZSTD_isError(rc)) {
      return fail(Errc::kInternal, fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    }
    used_ += out.pos;
    if (used_ > buffer_.size() / 2) HULL_TRY(flush());
    return rc;
  }
  Result<void> flush() {
    if (used_ > 0) HULL_TRY(out_.write(buffer_.data(), used_));
    used_ = 0;
    return {};
  }

  Writer& out_;
  ZSTD_CCtx* cctx_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  bool init_error_ = false;
};

}  // namespace

std::unique_ptr<Writer> compressingWriter(Writer& out, Compression c, int threads, int level) {
  int n = threadCount(threads);
  switch (c) {
    case Compression::kNone:
      return std::make_unique<PlainWriter>(out);
    case Compression::kGzip:
      return std::make_unique<GzipWriter>(out, n,
                                          level < 0 ? kDefaultGzipLevel : std::min(level, 9));
    case Compression::kZstd:
      return std::make_unique<ZstdWriter>(out, n, level < 0 ? kDefaultZstdLevel : level);
  }
  return std::make_unique<PlainWriter>(out);
}

}  // namespace hull::layer
