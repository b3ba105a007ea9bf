// Byte-stream adapters, compression sniffing and the decompressing reader (gzip, including
// multi-member streams, and zstd).
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "base/fs.h"
#include "layer/internal.h"
#include "layer/layer.h"
#include "oci/media_types.h"

namespace hull::layer {

using detail::kBlockSize;

Compression detectCompression(std::span<const unsigned char> head) {
  if (head.size() >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Compression::kGzip;
  if (head.size() >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f &&
      head[3] == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

std::string_view layerMediaType(Compression c) {
  switch (c) {
    case Compression::kNone:
      return oci::kMediaTypeLayer;
    case Compression::kGzip:
      return oci::kMediaTypeLayerGzip;
    case Compression::kZstd:
      return oci::kMediaTypeLayerZstd;
  }
  return oci::kMediaTypeLayer;
}

Result<Compression> compressionOf(std::string_view t) {
  if (t == oci::kMediaTypeLayer || t == oci::kDockerLayer) return Compression::kNone;
  if (t == oci::kMediaTypeLayerGzip || t == oci::kDockerLayerGzip ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      t == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
    return Compression::kGzip;
  }
  if (t == oci::kMediaTypeLayerZstd ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return Compression::kZstd;
  }
  return fail(Errc::kUnsupported, fmt::format("unsupported layer media type \"{}\"", t));
}

namespace {

class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<std::size_t> read(void* data, std::size_t size) override {
    return readSome(fd_, data, size);
  }

 private:
  int fd_;
};

class FdWriter : public Writer {
 public:
  explicit FdWriter(int fd) : fd_(fd) {}
  Result<void> write(const void* data, std::size_t size) override {
    return writeAll(fd_, data, size);
  }

 private:
  int fd_;
};

class FuncReader : public Reader {
 public:
  explicit FuncReader(std::function<Result<std::size_t>(void*, std::size_t)> f)
      : f_(std::move(f)) {}
  Result<std::size_t> read(void* data, std::size_t size) override { return f_(data, size); }

 private:
  std::function<Result<std::size_t>(void*, std::size_t)> f_;
};

class FuncWriter : public Writer {
 public:
  explicit FuncWriter(std::function<Result<void>(const void*, std::size_t)> f) : f_(std::move(f)) {}
  Result<void> write(const void* data, std::size_t size) override { return f_(data, size); }

 private:
  std::function<Result<void>(const void*, std::size_t)> f_;
};

// Hands out the sniffed head first, then reads straight from the source.
class PrefixedReader : public Reader {
 public:
  PrefixedReader(std::vector<unsigned char> head, Reader& in) : head_(std::move(head)), in_(in) {}
  Result<std::size_t> read(void* data, std::size_t size) override {
    if (pos_ < head_.size()) {
      std::size_t n = std::min(size, head_.size() - pos_);
      std::memcpy(data, head_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return in_.read(data, size);
  }

 private:
  std::vector<unsigned char> head_;
  std::size_t pos_ = 0;
  Reader& in_;
};

// Compressed input buffered in large blocks; shared by both decompressors.
class InputBuffer {
 public:
  explicit InputBuffer(Reader& in) : in_(in), data_(kBlockSize) {}
  // Refills when empty; returns false at the end of the input.
  Result<bool> fill() {
    if (pos_ < len_) return true;
    if (eof_) return false;
    HULL_ASSIGN_OR_RETURN(len_, in_.read(data_.data(), data_.size()));
    pos_ = 0;
    eof_ = len_ == 0;
    return !eof_;
  }
  unsigned char* data() { return data_.data() + pos_; }
  std::size_t size() const { return len_ - pos_; }
  void consume(std::size_t n) { pos_ += n; }

 private:
  Reader& in_;
  std::vector<unsigned char> data_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

class GzipReader : public Reader {
 public:
  explicit GzipReader(Reader& in) : input_(in) {}
  ~GzipReader() override {
    if (initialized_) inflateEnd(&z_);
  }
  Result<bool> init() {
    if (inflateInit2(&z_, 15 + 16) != Z_OK) return fail(Errc::kInternal, "inflateInit2 failed");
    initialized_ = true;
    return true;
  }

  Result<std::size_t> read(void* data, std::size_t size) override {
    std::size_t produced = 0;
    while (produced == 0 && size > 0) {
      HULL_ASSIGN_OR_RETURN(bool more, input_.fill());
      if (!more) {
        if (member_done_) return std::size_t{0};
        return fail(Errc::kCorrupt, "truncated gzip stream");
      }
      if (member_done_ && input_.data()[0] == 0) {
        // Zero padding after the last member is common and harmless (gzip -d ignores it).
        std::size_t zeros = 0;
        while (zeros < input_.size() && input_.data()[zeros] == 0) ++zeros;
        if (zeros < input_.size()) return fail(Errc::kCorrupt, "trailing data after gzip stream");
        input_.consume(zeros);
        continue;
      }
      if (member_done_) {
        // Another member follows (pigz and concatenated gzip files): start afresh.
        if (inflateReset(&z_) != Z_OK) return fail(Errc::kInternal, "inflateReset failed");
        member_done_ = false;
      }
      z_.next_in = input_.data();
      z_.avail_in = static_cast<uInt>(input_.size());
      z_.next_out = static_cast<Bytef*>(data) + produced;
      z_.avail_out = static_cast<uInt>(size - produced);
      int rc = inflate(&z_, Z_NO_FLUSH);
      input_.consume(input_.size() - z_.avail_in);
      produced = size - z_.avail_out;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return fail(Errc::kCorrupt,
                    fmt::format("corrupt gzip stream: {}", z_.msg ? z_.msg : "inflate failed"));
      }
    }
    return produced;
  }

 private:
  InputBuffer input_;
  z_stream z_{};
  bool initialized_ = false;
  bool member_done_ = false;
};

class ZstdReader : public Reader {
 public:
  explicit ZstdReader(Reader& in) : input_(in), ds_(ZSTD_createDStream()) {}
  ~ZstdReader() override { ZSTD_freeDStream(ds_); }

  Result<std::size_t> read(void* data, std::size_t size) override {
    ZSTD_outBuffer out{data, size, 0};
    while (out.pos == 0 && size > 0) {
      HULL_ASSIGN_OR_RETURN(bool more, input_.fill());
      if (!more) {
        // A frame still open when the input ends, or no frame at all, is a truncation.
        if (last_hint_ == 0 && saw_frame_) return std::size_t{0};
        // The decoder may still hold output of a finished input.
        if (last_hint_ != 0) {
          ZSTD_inBuffer empty{nullptr, 0, 0};
          std::size_t rc = ZSTD_decompressStream(ds_, &out, &empty);
          if (ZSTD_isError(rc)) return fail(Errc::kCorrupt, "corrupt zstd stream");
          last_hint_ = rc;
          if (out.pos > 0) return out.pos;
        }
        return fail(Errc::kCorrupt, "truncated zstd stream");
      }
      ZSTD_inBuffer in{input_.data(), input_.size(), 0};
      std::size_t rc = ZSTD_decompressStream(ds_, &out, &in);
      input_.consume(in.pos);
      if (ZSTD_isError(rc)) {
        return fail(Errc::kCorrupt, fmt::format("corrupt zstd stream: {}", ZSTD_getErrorName(rc)));
      }
      saw_frame_ = true;
      last_hint_ = rc;
    }
    return out.pos;
  }

 private:
  InputBuffer input_;
  ZSTD_DStream* ds_;
  std::size_t last_hint_ = 0;
  bool saw_frame_ = false;
};

}  // namespace

std::unique_ptr<Reader> fdReader(int fd) { return std::make_unique<FdReader>(fd); }
std::unique_ptr<Writer> fdWriter(int fd) { return std::make_unique<FdWriter>(fd); }
std::unique_ptr<Reader> funcReader(std::function<Result<std::size_t>(void*, std::size_t)> f) {
  return std::make_unique<FuncReader>(std::move(f));
}
std::unique_ptr<Writer> funcWriter(std::function<Result<void>(const void*, std::size_t)> f) {
  return std::make_unique<FuncWriter>(std::move(f));
}

Result<std::unique_ptr<Reader>> decompressingReader(Reader& in) {
  // Sniff the magic without losing it: the head is replayed to the chosen decoder.
  std::vector<unsigned char> head(4);
  std::size_t got = 0;
  while (got < head.size()) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, in.read(head.data() + got, head.size() - got));
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  Compression c = detectCompression(head);
  auto prefixed = std::make_unique<PrefixedReader>(std::move(head), in);
  if (c == Compression::kNone) return std::unique_ptr<Reader>(std::move(prefixed));

  // The decoder owns the prefixed reader through a small holder.
  struct Owning : Reader {
    std::unique_ptr<Reader> source;
    std::unique_ptr<Reader> decoder;
    Result<std::size_t> read(void* data, std::size_t size) override {
      return decoder->read(data, size);
    }
  };
  auto owning = std::make_unique<Owning>();
  owning->source = std::move(prefixed);
  if (c == Compression::kGzip) {
    auto gz = std::make_unique<GzipReader>(*owning->source);
    HULL_TRY(gz->init());
    owning->decoder = std::move(gz);
  } else {
    owning->decoder = std::make_unique<ZstdReader>(*owning->source);
  }
  return std::unique_ptr<Reader>(std::move(owning));
}

}  // namespace hull::layer
