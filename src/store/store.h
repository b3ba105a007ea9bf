// The local content store. Its root is itself an OCI image layout (oci-layout, index.json,
// blobs/sha256/<hex>), so `skopeo inspect oci:$HULL_ROOT:NAME` works; hull's own state lives in
// extra directories beside it (layers/, snapshots/, cache/, containers/, volumes/, tmp/; see
// docs/store-format.md).
//
// Invariants:
//  - A blob file is named by the sha256 of its bytes. Writers stream into tmp/, the digest is
//    computed while writing and checked against the expected one, then fsync, rename, fsync dir.
//  - index.json is only replaced atomically (writeFileAtomic), under the exclusive lock.
//  - Readers verify a blob's digest while reading it (readBlob) or on close (BlobReader).
//  - A process holds the store lock (flock on $ROOT/lock) for the whole of a command: shared
//    while it adds blobs, reads or tags, exclusive while it deletes anything (prune). So GC never
//    deletes a blob that a concurrent import is about to reference. tag()/untag() serialize
//    their read-modify-write of index.json on a second flock ($ROOT/index.lock) themselves.
//  - Locks nest within a process: asking again for a mode the process already holds (or shared
//    while it holds exclusive) returns a new handle on the same lock instead of deadlocking;
//    asking for exclusive while the process holds only shared fails with kInternal.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/image.h"

namespace hull::store {

enum class LockMode { kShared, kExclusive };

// A held flock on the store; released when destroyed.
class Lock {
 public:
  Lock() = default;
  explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}
  Lock(Lock&& other) noexcept;
  Lock& operator=(Lock&& other) noexcept;
  ~Lock();
  bool held() const { return fd_.valid(); }
  void release();

 private:
  friend class Store;
  Lock(UniqueFd fd, std::string key) : fd_(std::move(fd)), key_(std::move(key)) {}
  UniqueFd fd_;
  std::string key_;  // the lock file's path in this process's table of held locks
};

// Streams one blob into the store. Nothing is visible until commit(); destruction without a
// commit removes the staging file. Holds the shared store lock until commit or destruction, so
// prune cannot remove its staging file.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  ~BlobWriter();

  Result<void> write(const void* data, std::size_t size);
  Result<void> write(std::string_view data) { return write(data.data(), data.size()); }
  int64_t written() const;

  // Verifies the digest (and size when given) of what was written and moves it into place.
  // Without an expected digest the computed one is used. Returns the blob's descriptor.
  Result<oci::Descriptor> commit(std::string_view media_type,
                                 const std::optional<Digest>& expected = std::nullopt,
                                 std::optional<int64_t> expected_size = std::nullopt);

 private:
  friend class Store;
  struct State;
  explicit BlobWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Reads one blob and checks its digest when the end is reached: read() returns kCorrupt instead
// of 0 (end of file) when the bytes do not match their name.
class BlobReader {
 public:
  BlobReader(UniqueFd fd, Digest digest, int64_t size);
  Result<std::size_t> read(void* data, std::size_t size);
  int64_t size() const { return size_; }
  const Digest& digest() const { return digest_; }
  int fd() const { return fd_.get(); }  // for sendfile/copy_file_range when no check is needed

 private:
  UniqueFd fd_;
  Digest digest_;
  int64_t size_;
  Sha256 hash_;
  bool checked_ = false;
  bool corrupt_ = false;
};

// One entry of index.json: "NAME:TAG" (the org.opencontainers.image.ref.name annotation) and the
// image manifest it points to. An entry without the annotation is an untagged image (Docker's
// dangling image): its name is empty. images() lists named entries only; allImages() lists both.
struct ImageRecord {
  std::string name;          // e.g. "busybox:latest", "localhost:5000/ml/serve:v1"; "" untagged
  oci::Descriptor manifest;  // media type, digest and size of the image manifest
};

struct FsckProblem {
  Digest blob;                      // the missing or corrupt blob (empty for a stray file)
  std::string what;                 // "missing", "corrupt: digest sha256:... does not match", ...
  std::vector<std::string> images;  // names of the images it breaks
};

struct PruneOptions {
  bool dry_run = false;
  // Remove the untagged images (index.json entries without a name) first, as `docker system
  // prune` removes dangling images; their blobs are then swept unless something else uses them.
  bool untagged = false;
  // Layer blobs named by build cache records (cache/records/*.json) are roots like images.
  // `hull builder prune --dry-run` clears it to see what the records alone keep.
  bool cache_roots = true;
};

struct PruneReport {
  std::vector<Digest> removed;
  // With PruneOptions::untagged: the image IDs of the untagged images removed (the manifest
  // digest where the manifest could not be read), in index order. An untagged entry whose
  // manifest also has a name removes no image and is not listed.
  std::vector<Digest> untagged;
  int64_t bytes_freed = 0;      // removed blobs plus staging files
  int64_t staging_removed = 0;  // entries removed from tmp/
};

// What reading a layer blob taught: the diff ID and size of its uncompressed tar stream. Kept in
// layers/<blob-hex>.json so that save and images need not decompress the layer again. A cache:
// regenerable from the blob, and never trusted where a digest check can decide (a save still
// checks the diff ID of the stream it writes).
struct LayerRecord {
  Digest diff_id;
  int64_t size = 0;  // bytes of the uncompressed tar stream

  friend bool operator==(const LayerRecord&, const LayerRecord&) = default;
};

struct DiskUsage {
  int64_t images = 0;      // number of names
  int64_t blobs = 0;       // number of blob files
  int64_t blob_bytes = 0;  // bytes in blobs/
  int64_t unreferenced_bytes = 0;
  int64_t snapshot_bytes = 0;  // bytes in snapshots/
};

class Store {
 public:
  // Opens the store at root, creating the layout (mode 0700 root dir) if it does not exist.
  static Result<Store> open(const fs::path& root);

  const fs::path& root() const { return root_; }
  fs::path blobPath(const Digest& d) const;
  fs::path tmpDir() const { return root_ / "tmp"; }
  fs::path layerRecordPath(const Digest& blob) const;

  // Blocks until the lock is granted. tryLock() fails with kBusy instead of waiting.
  Result<Lock> lock(LockMode mode) const;
  Result<Lock> tryLock(LockMode mode) const;

  // --- blobs ---
  bool hasBlob(const Digest& d) const;
  Result<BlobWriter> ingest() const;
  Result<oci::Descriptor> putBlob(std::string_view media_type, std::string_view data) const;
  // Reads a whole blob (at most max_size bytes) and verifies its digest.
  Result<std::string> readBlob(const Digest& d, std::size_t max_size = 16u << 20) const;
  Result<BlobReader> openBlob(const Digest& d) const;

  // --- layer records (layers/<blob-hex>.json) ---
  // Records what reading the layer blob `blob` taught, atomically; the blob must be in the store.
  // Takes the shared lock (the record is staged in tmp/). Writing the same record again is a
  // no-op.
  Result<void> putLayerRecord(const Digest& blob, const LayerRecord& record) const;
  // The record of a layer blob; nullopt when there is none or it cannot be read or parsed.
  std::optional<LayerRecord> layerRecord(const Digest& blob) const;
  // Removes a record; a missing one is not an error. Prune removes the records of the blobs it
  // removes; call this after deleting a blob any other way.
  Result<void> removeLayerRecord(const Digest& blob) const;

  // --- images (index.json) ---
  // The named entries, in index order.
  Result<std::vector<ImageRecord>> images() const;
  // Every entry, named or untagged (empty name), in index order.
  Result<std::vector<ImageRecord>> allImages() const;
  // Finds an image by name ("busybox", "busybox:latest"), by full or short (>= 4 hex) image ID
  // (the config digest, as Docker shows it), or by manifest digest; untagged images are found
  // by ID or digest. kNotFound when nothing matches, kInvalidArgument when a short ID is
  // ambiguous.
  Result<ImageRecord> find(std::string_view ref) const;
  // Points name at manifest, replacing what it pointed to. The manifest (or index) and the
  // blobs it references must be in the store. Untagged entries of that manifest are dropped (it
  // has a name now); a manifest the name moves away from that no other entry points at stays as
  // an untagged entry (Docker's dangling image) unless it is the same image (same image ID) or
  // cannot be read. Takes the shared store lock (unless this process holds it) and the index
  // lock itself; the exclusive lock works too.
  Result<void> tag(std::string_view name, const oci::Descriptor& manifest) const;
  // Removes a name (kNotFound when it is not there); the image is not kept untagged. Locks as
  // tag() does.
  Result<void> untag(std::string_view name) const;
  // Keeps an image without a name: adds an untagged entry for manifest unless an entry, named
  // or not, already points at its digest. Checks and locks as tag() does.
  Result<void> keep(const oci::Descriptor& manifest) const;
  // Removes the untagged entries that point at manifest (kNotFound when there is none); named
  // entries stay. Locks as tag() does.
  Result<void> dropUntagged(const Digest& manifest) const;
  // The image ID Docker shows: the config digest of a manifest, the digest of an index.
  Result<Digest> imageId(const oci::Descriptor& manifest) const;

  // Reads and parses an image's manifest and config (both verified).
  Result<oci::Manifest> manifest(const oci::Descriptor& d) const;
  Result<oci::ImageConfig> config(const oci::Manifest& m) const;

  // --- maintenance: each takes the lock it needs unless this process holds it ---
  // Shared lock. Problems are sorted by digest.
  Result<std::vector<FsckProblem>> fsck() const;
  // Exclusive lock: removes unreachable blobs (and their layer records), layer records whose blob
  // is absent, and everything in tmp/. Untagged images are roots like named ones unless
  // options.untagged removes them first.
  Result<PruneReport> prune(bool dry_run = false) const;
  Result<PruneReport> prune(const PruneOptions& options) const;
  // Shared lock.
  Result<DiskUsage> diskUsage() const;

 private:
  explicit Store(fs::path root) : root_(std::move(root)) {}
  Result<Lock> acquire(LockMode mode, bool block) const;
  Result<void> initialize() const;
  fs::path root_;
};

// Normalizes a user-given image name to the form stored in index.json: lowercase repository
// checked against the Docker reference grammar, ":latest" added when no tag or digest is given,
// "docker.io/library/" and "docker.io/" prefixes removed (Docker's familiar form).
Result<std::string> normalizeName(std::string_view name);

}  // namespace hull::store
