// Layers: tar streams (libarchive), gzip/zstd compression on all cores, diff IDs over the
// uncompressed stream, and the safe application of a layer to a directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/digest.h"
#include "base/fs.h"
#include "base/result.h"

namespace hull::layer {

enum class Compression { kNone, kGzip, kZstd };

// Sniffs the magic bytes (gzip 1f 8b, zstd 28 b5 2f fd); anything else is kNone.
Compression detectCompression(std::span<const unsigned char> head);
// The OCI layer media type for a compression.
std::string_view layerMediaType(Compression c);
// The compression of an OCI or Docker layer media type; kUnsupported for unknown types.
Result<Compression> compressionOf(std::string_view media_type);

// Byte streams. Readers return 0 at the end; writers get finish() once at the end.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<std::size_t> read(void* data, std::size_t size) = 0;
};
class Writer {
 public:
  virtual ~Writer() = default;
  virtual Result<void> write(const void* data, std::size_t size) = 0;
  virtual Result<void> finish() { return {}; }
};

// Adapters: a Reader over an fd (not owned), a Writer over an fd (not owned), and over callables.
std::unique_ptr<Reader> fdReader(int fd);
std::unique_ptr<Writer> fdWriter(int fd);
std::unique_ptr<Reader> funcReader(std::function<Result<std::size_t>(void*, std::size_t)> f);
std::unique_ptr<Writer> funcWriter(std::function<Result<void>(const void*, std::size_t)> f);

// A Reader that decompresses `in` (compression sniffed from its first bytes).
Result<std::unique_ptr<Reader>> decompressingReader(Reader& in);
// A Writer that compresses into `out` using `threads` workers (0 = all cores). Gzip output is a
// single valid gzip stream (independently deflated blocks joined pigz-style); zstd uses libzstd's
// workers. Deterministic for the same input, level and block size, whatever the thread count.
// level -1 picks the defaults: gzip 1, zstd 3 (docs/layers.md says why).
std::unique_ptr<Writer> compressingWriter(Writer& out, Compression c, int threads = 0,
                                          int level = -1);

struct LayerInfo {
  Digest diff_id;  // sha256 of the uncompressed tar
  int64_t uncompressed_size = 0;
  Digest digest;  // sha256 of the (compressed) blob as written to `out`
  int64_t size = 0;
  std::string media_type;
  int64_t entries = 0;
};

// Reads a tarball (plain, gzip or zstd) from `in`, checks that it is a well-formed tar with only
// safe entries (see applyLayer), and writes it to `out` compressed with `out_compression`. The
// tar bytes pass through unchanged: the diff ID is that of the input's uncompressed stream.
Result<LayerInfo> importTarball(Reader& in, Writer& out, Compression out_compression);

// Reads a layer blob (any compression) once, checking every entry as importTarball does, and
// returns its diff ID and uncompressed size (digest and size describe the input as read).
Result<LayerInfo> checkLayer(Reader& in);

struct ApplyOptions {
  bool allow_devices = false;    // mknod of char/block devices and fifos (root only)
  bool allow_setuid = false;     // keep setuid/setgid bits (default: only when running as root)
  bool preserve_owners = false;  // chown entries to their uid/gid (root only)
};

struct ApplyStats {
  int64_t entries = 0;
  int64_t bytes = 0;
  int64_t whiteouts = 0;
};

// Applies a layer (any compression) to the directory `dest`, which must exist. OCI whiteouts
// (".wh.NAME" removes NAME, ".wh..wh..opq" empties the directory) are applied. Never writes
// outside dest: "..", absolute names, writes through symlinks, hard links to outside files,
// NUL or overlong names are rejected with kCorrupt naming the entry; all paths are resolved
// relative to a directory fd (openat2 RESOLVE_IN_ROOT). A leading "/" means dest (as in Docker),
// and symlinks resolve as if dest were "/": a write through one stays inside dest. Device nodes
// and fifos without allow_devices fail with kPermission. On error dest may hold a partial tree;
// callers apply into a staging directory and rename it into place only on success.
Result<ApplyStats> applyLayer(Reader& in, const fs::path& dest, const ApplyOptions& options);

// Writes the tree under `root` as a tar stream to `out` (sorted names, numeric owners, PAX
// headers when needed). Used by tests and by copies of directories (writeDiff without overlay).
Result<int64_t> writeTree(const fs::path& root, Writer& out);

struct DiffOptions {
  // Reproducible output: every mtime later than this is clamped to it (SOURCE_DATE_EPOCH);
  // atime and ctime are never written.
  std::optional<int64_t> source_date_epoch;
  // `root` is an overlay upper dir: 0:0 character devices become ".wh.NAME" whiteouts, a
  // directory with trusted.overlay.opaque=y gets ".wh..wh..opq", trusted.overlay.* is dropped.
  bool overlay = true;
  bool xattrs = true;  // keep extended attributes (security.capability, user.*)
};

// Writes an overlay upper directory as an OCI layer tar to `out`: names sorted bytewise, numeric
// owners, no user or group names, PAX headers only where ustar cannot hold a field, hard links
// inside the layer as link entries. Returns the number of entries. Calls out.finish().
Result<int64_t> writeDiff(const fs::path& root, Writer& out, const DiffOptions& options);

// writeDiff streamed through a compressor into `out` in one pass, hashing the uncompressed
// stream (diff_id) and the compressed one (digest) on the way. `threads` as compressingWriter.
Result<LayerInfo> writeDiffLayer(const fs::path& root, Writer& out, Compression compression,
                                 const DiffOptions& options, int threads = 0);

}  // namespace hull::layer
