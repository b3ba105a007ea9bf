// importTarball: one pass over the input. The decompressed tar stream is parsed by libarchive
// (to check every header) and, through the reader's tee, hashed into the diff ID and fed to the
// compressor whose output is hashed into the blob digest on its way to `out`.
#include <archive_entry.h>

#include "layer/internal.h"
#include "layer/layer.h"

namespace hull::layer {

Result<LayerInfo> importTarball(Reader& in, Writer& out, Compression out_compression) {
  // An uncompressed blob is the tar stream itself: its digest is the diff ID, hashed once.
  detail::HashingWriter blob(out, out_compression != Compression::kNone);
  std::unique_ptr<Writer> compressor = compressingWriter(blob, out_compression);
  HULL_ASSIGN_OR_RETURN(std::unique_ptr<Reader> plain, decompressingReader(in));

  Sha256 diff;
  int64_t uncompressed = 0;
  detail::TarReader tar(*plain, [&](const void* data, std::size_t size) -> Result<void> {
    diff.update(data, size);
    uncompressed += static_cast<int64_t>(size);
    return compressor->write(data, size);
  });
  // Every header is checked; the data passes through the tee untouched.
  while (true) {
    HULL_ASSIGN_OR_RETURN(archive_entry * entry, tar.next());
    if (entry == nullptr) break;
    auto name = detail::cleanName(archive_entry_pathname(entry));
    if (!name) {
      return fail(name.error().wrap("entry " + detail::quoteName(archive_entry_pathname(entry))));
    }
    HULL_TRY(detail::checkEntry(entry, *name));
    HULL_TRY(tar.skipData());
  }
  // The diff ID covers the whole stream, the padding after the end marker included.
  HULL_TRY(tar.drain());
  HULL_TRY(compressor->finish());

  LayerInfo info;
  info.diff_id = diff.finish();
  info.uncompressed_size = uncompressed;
  info.digest = out_compression == Compression::kNone ? info.diff_id : blob.digest();
  info.size = blob.size();
  info.media_type = std::string(layerMediaType(out_compression));
  info.entries = tar.entries();
  return info;
}

namespace {

class DiscardWriter : public Writer {
 public:
  Result<void> write(const void*, std::size_t) override { return {}; }
};

class CountingReader : public Reader {
 public:
  explicit CountingReader(Reader& in) : in_(in) {}
  Result<std::size_t> read(void* data, std::size_t size) override {
    HULL_ASSIGN_OR_RETURN(std::size_t n, in_.read(data, size));
    hash_.update(data, n);
    size_ += static_cast<int64_t>(n);
    return n;
  }
  Digest digest() { return hash_.finish(); }
  int64_t size() const { return size_; }

 private:
  Reader& in_;
  Sha256 hash_;
  int64_t size_ = 0;
};

}  // namespace

Result<LayerInfo> checkLayer(Reader& in) {
  CountingReader counted(in);
  DiscardWriter discard;
  HULL_ASSIGN_OR_RETURN(LayerInfo info, importTarball(counted, discard, Compression::kNone));
  info.digest = counted.digest();
  info.size = counted.size();
  return info;
}

}  // namespace hull::layer
