// Content-addressed blobs: staged in tmp/, hashed while written, verified, fsynced and renamed
// into blobs/sha256/<hex> (STYLE.md rule 6); verified again whenever they are read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "store/internal.h"
#include "store/store.h"

namespace hull::store {

struct BlobWriter::State {
  fs::path staging;
  fs::path blobs_dir;
  UniqueFd fd;
  Sha256 hash;
  int64_t written = 0;
  bool finished = false;  // the hash is final; no more writes
  bool staged = true;     // the staging file still exists and is ours to remove
  Lock lock;              // shared: keeps prune from removing the staging file

  void discard() {
    fd.reset();
    if (staged) ::unlink(staging.c_str());
    staged = false;
    finished = true;
    lock.release();
  }
  ~State() { discard(); }
};

BlobWriter::BlobWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

int64_t BlobWriter::written() const { return state_ ? state_->written : 0; }

Result<void> BlobWriter::write(const void* data, std::size_t size) {
  if (!state_ || state_->finished) {
    return fail(Errc::kInternal, "blob writer: write after commit");
  }
  HULL_TRY(writeAll(state_->fd.get(), data, size).map_error([&](Error e) {
    return std::move(e).wrap("write " + state_->staging.string());
  }));
  state_->hash.update(data, size);
  state_->written += static_cast<int64_t>(size);
  return {};
}

Result<oci::Descriptor> BlobWriter::commit(std::string_view media_type,
                                           const std::optional<Digest>& expected,
                                           std::optional<int64_t> expected_size) {
  if (!state_ || state_->finished) {
    return fail(Errc::kInternal, "blob writer: commit called twice");
  }
  State& s = *state_;
  Digest got = s.hash.finish();
  s.finished = true;
  auto abort = [&](Error e) {
    s.discard();
    return fail(std::move(e));
  };
  std::string label = expected ? expected->str() : got.str();
  if (expected_size && *expected_size != s.written) {
    return abort({Errc::kCorrupt, fmt::format("blob {}: got {} bytes, expected {}", label,
                                              s.written, *expected_size)});
  }
  if (expected && *expected != got) {
    return abort({Errc::kCorrupt, fmt::format("blob {}: digest mismatch: content hashes to {}",
                                              expected->str(), got.str())});
  }
  if (::fsync(s.fd.get()) != 0) return abort(failErrno("fsync " + s.staging.string()).value());
  s.fd.reset();
  fs::path target = s.blobs_dir / got.hex();
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0) {
    s.discard();  // content addressing: the same bytes are already there
  } else {
    auto moved = renameDurable(s.staging, target);
    if (!moved) return abort(std::move(moved).error());
    s.staged = false;
    s.discard();
  }
  oci::Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = std::move(got);
  d.size = s.written;
  return d;
}

BlobReader::BlobReader(UniqueFd fd, Digest digest, int64_t size)
    : fd_(std::move(fd)), digest_(std::move(digest)), size_(size) {}

Result<std::size_t> BlobReader::read(void* data, std::size_t size) {
  auto corrupt = [&](const Digest& got) {
    return fail(Errc::kCorrupt, fmt::format("blob {} is corrupt: its content hashes to {}",
                                            digest_.str(), got.str()));
  };
  if (corrupt_) return fail(Errc::kCorrupt, "blob " + digest_.str() + " is corrupt");
  if (checked_ || size == 0) return std::size_t{0};
  HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd_.get(), data, size).map_error([&](Error e) {
    return std::move(e).wrap("blob " + digest_.str());
  }));
  if (n > 0) {
    hash_.update(data, n);
    return n;
  }
  checked_ = true;
  Digest got = hash_.finish();
  if (got != digest_) {
    corrupt_ = true;
    return corrupt(got);
  }
  return std::size_t{0};
}

fs::path Store::blobPath(const Digest& d) const { return root_ / "blobs" / "sha256" / d.hex(); }

bool Store::hasBlob(const Digest& d) const {
  if (d.empty()) return false;
  struct stat st {};
  return ::stat(blobPath(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<BlobWriter> Store::ingest() const {
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  // The pid keeps names apart across forked processes, whose random state starts out equal.
  fs::path staging = uniquePath(tmpDir(), fmt::format("blob-{}", ::getpid()));
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(staging, O_WRONLY | O_CREAT | O_EXCL, 0644));
  auto state = std::make_unique<BlobWriter::State>();
  state->staging = std::move(staging);
  state->blobs_dir = root_ / "blobs" / "sha256";
  state->fd = std::move(fd);
  state->lock = std::move(held);
  return BlobWriter(std::move(state));
}

Result<oci::Descriptor> Store::putBlob(std::string_view media_type, std::string_view data) const {
  Digest digest = Digest::ofBytes(data);
  if (hasBlob(digest)) {
    oci::Descriptor d;
    d.media_type = std::string(media_type);
    d.digest = std::move(digest);
    d.size = static_cast<int64_t>(data.size());
    return d;
  }
  HULL_ASSIGN_OR_RETURN(BlobWriter w, ingest());
  HULL_TRY(w.write(data));
  return w.commit(media_type, digest, static_cast<int64_t>(data.size()));
}

Result<BlobReader> Store::openBlob(const Digest& d) const {
  if (d.empty()) return fail(Errc::kInvalidArgument, "open blob: empty digest");
  fs::path path = blobPath(d);
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) return fail(Errc::kNotFound, "blob " + d.str() + " not found");
    return failErrno("open blob " + d.str());
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return failErrno("stat blob " + d.str());
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::kCorrupt, "blob " + d.str() + " is not a regular file");
  }
  return BlobReader(std::move(owned), d, static_cast<int64_t>(st.st_size));
}

Result<std::string> Store::readBlob(const Digest& d, std::size_t max_size) const {
  HULL_ASSIGN_OR_RETURN(BlobReader r, openBlob(d));
  if (static_cast<uint64_t>(r.size()) > max_size) {
    return fail(Errc::kInvalidArgument, fmt::format("blob {} is {} bytes, more than the {} allowed",
                                                    d.str(), r.size(), max_size));
  }
  std::string out(static_cast<std::size_t>(r.size()), '\0');
  std::size_t got = 0;
  while (true) {
    // One spare byte past the expected size so that reaching the end is seen by read().
    if (got == out.size()) {
      if (got > max_size) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("blob {} is more than the {} bytes allowed", d.str(), max_size));
      }
      out.resize(got + 4096);
    }
    HULL_ASSIGN_OR_RETURN(std::size_t n, r.read(out.data() + got, out.size() - got));
    if (n == 0) break;
    got += n;
  }
  out.resize(got);
  return out;
}

}  // namespace hull::store
