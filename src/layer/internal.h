// Pieces shared by the layer module's sources; not part of the module's contract.
#pragma once

#include <archive.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "layer/layer.h"

namespace hull::layer::detail {

inline constexpr std::size_t kBlockSize = 1u << 20;  // read, decompress and compress unit

// OCI whiteouts: ".wh.NAME" removes NAME; kOpaqueMarker in a directory hides the lower layers'
// entries of it.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// An entry name made safe for a one-line error message (printable, at most 120 bytes).
std::string quoteName(std::string_view name);

// The lexically cleaned relative form of a tar name: a leading "/" is dropped (Docker's import
// does the same), "." and empty components vanish, ".." pops a component. Fails with kCorrupt
// when ".." climbs above the root or a name is too long or holds a NUL. Returns "" for the root.
Result<std::string> cleanName(std::string_view name);

// Checks one tar header for what every consumer rejects: bad names, hard link targets that
// escape, bad whiteouts, entry types a layer cannot hold. `name` is the cleaned name.
Result<void> checkEntry(archive_entry* entry, const std::string& name);

// openat2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); -1 and errno on failure.
int openInRoot(int root_fd, const std::string& path, int flags);

// Counts and (optionally) hashes what passes to `out`.
class HashingWriter : public Writer {
 public:
  HashingWriter(Writer& out, bool hash) : out_(out), hash_data_(hash) {}
  Result<void> write(const void* data, std::size_t size) override {
    if (hash_data_) hash_.update(data, size);
    size_ += static_cast<int64_t>(size);
    return out_.write(data, size);
  }
  Result<void> finish() override { return out_.finish(); }
  Digest digest() { return hash_.finish(); }
  int64_t size() const { return size_; }

 private:
  Writer& out_;
  bool hash_data_;
  Sha256 hash_;
  int64_t size_ = 0;
};

// A libarchive reader (tar formats only, no filters) over a Reader. Every block it hands to
// libarchive is passed to `tee` first, so a consumer sees the exact uncompressed stream.
class TarReader {
 public:
  using Tee = std::function<Result<void>(const void*, std::size_t)>;
  TarReader(Reader& in, Tee tee);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next header; nullptr at the end of the archive.
  Result<archive_entry*> next();
  // The current entry's data, block by block (sparse files arrive with offsets).
  Result<void> readData(const std::function<Result<void>(const void*, std::size_t, int64_t)>& f);
  // Skips the current entry's data (it still passes through the tee).
  Result<void> skipData();
  // Reads the rest of the input (tar padding past the end marker) through the tee.
  Result<void> drain();
  archive* handle() { return archive_; }
  int64_t entries() const { return entries_; }

 private:
  static la_ssize_t readCallback(archive*, void* self, const void** buffer);
  Error archiveError(std::string_view when);

  Reader& in_;
  Tee tee_;
  archive* archive_ = nullptr;
  std::vector<char> buffer_;
  std::string last_name_;
  int64_t entries_ = 0;
  int64_t stream_bytes_ = 0;
  bool eof_ = false;
  bool opened_ = false;
  std::optional<Error> source_error_;  // an error from `in_` or the tee, kept over libarchive's
};

}  // namespace hull::layer::detail
