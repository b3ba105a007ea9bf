#include "engine/save.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "base/archive_loader.h"
#include "base/scope_exit.h"
#include "engine/images.h"
#include "engine/pipe.h"
#include "layer/layer.h"
#include "oci/media_types.h"

namespace hull::engine {
namespace {

// Where the archive's bytes go. When that is a regular file the kernel is asked to start writing
// them back every few MiB, so the fsync that ends a save to a file waits for the last few MiB
// instead of the whole archive, and the disk works while the layers are decompressed.
class Sink {
 public:
  explicit Sink(int fd) : fd_(fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      off_t at = ::lseek(fd, 0, SEEK_CUR);
      regular_ = at >= 0;
      start_ = flushed_ = at;
    }
  }

  static la_ssize_t write(archive* a, void* self, const void* data, size_t size) {
    auto* sink = static_cast<Sink*>(self);
    if (auto r = writeAll(sink->fd_, data, size); !r) {
      archive_set_error(a, EIO, "%s", r.error().message.c_str());
      return -1;
    }
    sink->written_ += static_cast<off_t>(size);
    off_t end = sink->start_ + sink->written_;
    if (sink->regular_ && end - sink->flushed_ >= kWritebackStep) {
      // Only a hint: where it is not supported the final fsync does all the work.
      (void)::sync_file_range(sink->fd_, sink->flushed_, end - sink->flushed_,
                              SYNC_FILE_RANGE_WRITE);
      sink->flushed_ = end;
    }
    return static_cast<la_ssize_t>(size);
  }

 private:
  static constexpr off_t kWritebackStep = 8 << 20;
  int fd_;
  bool regular_ = false;
  off_t start_ = 0, written_ = 0, flushed_ = 0;
};

// A tar stream written with libarchive; entries are plain files owned by root at time 0, so the
// same images give the same bytes.
class TarOut {
 public:
  static Result<TarOut> open(int fd) {
    TarOut out;
    out.sink_ = std::make_unique<Sink>(fd);
    out.a_.reset(archive_write_new());
    if (!out.a_) return fail(archiveNewError("archive_write_new"));
    // No blocking: libarchive passes each write straight to the sink instead of copying it into
    // 10 KiB blocks first. The archive bytes are the same (the last block is never padded).
    if (archive_write_set_format_pax_restricted(out.a_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(out.a_.get(), 0) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(out.a_.get(), 1) != ARCHIVE_OK ||
        archive_write_open2(out.a_.get(), out.sink_.get(), nullptr, &Sink::write, nullptr,
                            nullptr) != ARCHIVE_OK) {
      return out.error("open archive");
    }
    return out;
  }

  Result<void> begin(const std::string& path, int64_t size) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_size(e.get(), size);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return error("write " + path);
    return {};
  }

  Result<void> write(const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      la_ssize_t n = archive_write_data(a_.get(), p, size);
      if (n <= 0) return error("write archive");
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return {};
  }

  Result<void> addFile(const std::string& path, std::string_view data) {
    HULL_TRY(begin(path, static_cast<int64_t>(data.size())));
    return write(data.data(), data.size());
  }

  Result<void> close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return error("finish archive");
    return {};
  }

 private:
  tl::unexpected<Error> error(const std::string& what) {
    const char* msg = archive_error_string(a_.get());
    return fail(Errc::kIo, fmt::format("{}: {}", what, msg != nullptr ? msg : "unknown error"));
  }
  std::unique_ptr<Sink> sink_;  // before a_: libarchive may write to it until a_ is freed
  std::unique_ptr<archive, decltype(&archive_write_free)> a_{nullptr, archive_write_free};
};

// Copies a blob into a new entry: one thread reads it (checking its digest at the end) while
// this one writes.
Result<void> writeBlob(const store::Store& store, TarOut& out, const Digest& d,
                       const std::string& path) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader blob, store.openBlob(d));
  auto in = layer::funcReader([&blob](void* p, std::size_t n) { return blob.read(p, n); });
  HULL_TRY(out.begin(path, blob.size()));
  PipeOptions pipe;
  if (static_cast<uint64_t>(blob.size()) < pipe.buffer_size) {
    // Configs and manifests: one read (and the one that sees the end) on this thread.
    pipe = {.buffer_size = static_cast<std::size_t>(blob.size()) + 1, .buffers = 1};
  }
  int64_t copied = 0;
  HULL_TRY(pipeStream(
      *in,
      [&](const char* p, std::size_t n) -> Result<void> {
        copied += static_cast<int64_t>(n);
        if (copied > blob.size()) return fail(Errc::kCorrupt, "blob " + d.str() + " grew");
        return out.write(p, n);
      },
      pipe));
  if (copied != blob.size()) {
    return fail(Errc::kCorrupt, fmt::format("blob {}: changed while it was being saved ({} bytes, "
                                            "expected {})",
                                            d.str(), copied, blob.size()));
  }
  return {};
}

// The tar stream of a compressed layer. The compressed bytes are not hashed: what a
// docker-archive carries is the uncompressed stream, and every use of it checks that stream's
// diff ID, which proves more than the blob's digest would.
struct LayerStream {
  store::BlobReader blob;  // owns the fd the readers below read
  std::unique_ptr<layer::Reader> raw;
  std::unique_ptr<layer::Reader> tar;
};

Result<std::unique_ptr<LayerStream>> openLayerStream(const store::Store& store, const Digest& d) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader blob, store.openBlob(d));
  auto s = std::make_unique<LayerStream>(LayerStream{std::move(blob), nullptr, nullptr});
  s->raw = layer::fdReader(s->blob.fd());
  HULL_ASSIGN_OR_RETURN(s->tar, layer::decompressingReader(*s->raw));
  return s;
}

// The uncompressed size of a layer, from its record when the record's diff ID is the one the
// config names; otherwise by decompressing it once, which also checks the diff ID, and recording
// what that taught so that the next save streams it only once.
Result<store::LayerRecord> knownLayer(const store::Store& store, const Digest& d,
                                      const Digest& diff_id, bool& from_record) {
  if (auto r = store.layerRecord(d); r && r->diff_id == diff_id) {
    from_record = true;
    return *r;
  }
  from_record = false;
  HULL_ASSIGN_OR_RETURN(auto stream, openLayerStream(store, d));
  Sha256 hash;
  int64_t size = 0;
  HULL_TRY(pipeStream(*stream->tar, [&](const char* p, std::size_t n) -> Result<void> {
    hash.update(p, n);
    size += static_cast<int64_t>(n);
    return {};
  }));
  if (Digest got = hash.finish(); got != diff_id) {
    return fail(Errc::kCorrupt, fmt::format("layer {}: uncompressed content is {}, the image "
                                            "config says {}",
                                            d.str(), got.str(), diff_id.str()));
  }
  store::LayerRecord record{diff_id, size};
  // Best effort: the record only saves work, and the archive is right without it.
  (void)store.putLayerRecord(d, record);
  return record;
}

// What is wrong with a streamed layer, or "" when it is the one the config names.
std::string streamProblem(int64_t copied, bool overflow, int64_t size, Sha256& hash,
                          const Digest& diff_id, bool from_record) {
  if (overflow || copied != size) {
    std::string got = overflow ? fmt::format("more than {}", size) : std::to_string(copied);
    return from_record
               ? fmt::format("its uncompressed stream is {} bytes, its layer record says {}", got,
                             size)
               : fmt::format("it changed while it was being saved ({} bytes, expected {})", got,
                             size);
  }
  if (Digest got = hash.finish(); got != diff_id) {
    return fmt::format("uncompressed content is {}, the image config says {}", got.str(),
                       diff_id.str());
  }
  return {};
}

Result<void> writeCompressedLayer(const store::Store& store, TarOut& out, const Digest& d,
                                  const Digest& diff_id, const std::string& path) {
  bool from_record = false;
  HULL_ASSIGN_OR_RETURN(store::LayerRecord known, knownLayer(store, d, diff_id, from_record));
  HULL_ASSIGN_OR_RETURN(auto stream, openLayerStream(store, d));
  HULL_TRY(out.begin(path, known.size));
  // One pass: inflate on one thread, hash and write on this one. The entry's size was promised
  // in its header, so a longer stream stops before its excess is written.
  Sha256 hash;
  int64_t copied = 0;
  bool overflow = false;
  Result<void> streamed =
      pipeStream(*stream->tar, [&](const char* p, std::size_t n) -> Result<void> {
        if (static_cast<int64_t>(n) > known.size - copied) {
          overflow = true;
          return fail(Errc::kCorrupt, "longer than its entry");
        }
        copied += static_cast<int64_t>(n);
        hash.update(p, n);
        return out.write(p, n);
      });
  if (!streamed && !overflow) return fail(std::move(streamed).error().wrap("layer " + d.str()));
  std::string problem = streamProblem(copied, overflow, known.size, hash, diff_id, from_record);
  if (problem.empty()) return {};
  // A record that led here is wrong or stale: drop it so that the next save measures afresh.
  if (from_record) (void)store.removeLayerRecord(d);
  return fail(Errc::kCorrupt, fmt::format("layer {}: {}", d.str(), problem));
}

Result<void> writeDockerLayer(const store::Store& store, TarOut& out, const oci::Descriptor& layer,
                              const Digest& diff_id, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(layer::Compression c, layer::compressionOf(layer.media_type));
  if (c != layer::Compression::kNone) {
    return writeCompressedLayer(store, out, layer.digest, diff_id, path);
  }
  // An uncompressed layer is its own tar stream: its digest is its diff ID.
  if (layer.digest != diff_id) {
    return fail(Errc::kCorrupt, fmt::format("layer {}: uncompressed, but the image config says "
                                            "its diff ID is {}",
                                            layer.digest.str(), diff_id.str()));
  }
  return writeBlob(store, out, layer.digest, path);
}

struct Selected {
  ImageView view;
  std::vector<std::string> names;  // the names asked for; none when asked for by ID
};

Result<std::vector<Selected>> selectImages(const store::Store& store,
                                           const std::vector<std::string>& refs) {
  std::vector<Selected> out;
  for (const auto& ref : refs) {
    HULL_ASSIGN_OR_RETURN(ImageView view, resolveImage(store, ref));
    auto normal = store::normalizeName(ref);
    bool by_name = normal && *normal == view.record.name;
    auto same = std::find_if(out.begin(), out.end(), [&](const Selected& s) {
      return s.view.record.manifest.digest == view.record.manifest.digest;
    });
    if (same == out.end()) same = out.insert(out.end(), Selected{std::move(view), {}});
    if (by_name &&
        std::find(same->names.begin(), same->names.end(), *normal) == same->names.end()) {
      same->names.push_back(*normal);
    }
  }
  return out;
}

Result<void> writeDockerArchive(const store::Store& store, const std::vector<Selected>& images,
                                TarOut& out) {
  std::set<std::string> written;
  Json manifest = Json::array();
  Json repositories = Json::object();
  for (const auto& s : images) {
    const auto& layers = s.view.manifest.layers;
    const auto& diff_ids = s.view.config.diff_ids;
    if (layers.size() != diff_ids.size()) {
      return fail(Errc::kCorrupt, fmt::format("image {}: {} layers but {} diff IDs",
                                              s.view.id.str(), layers.size(), diff_ids.size()));
    }
    // An image saved by ID has no RepoTags: null, as `docker save` writes it.
    Json tags = s.names.empty() ? Json(nullptr) : Json(s.names);
    Json entry = {
        {"Config", s.view.id.hex() + ".json"}, {"RepoTags", tags}, {"Layers", Json::array()}};
    for (std::size_t i = 0; i < layers.size(); ++i) {
      std::string path = diff_ids[i].hex() + "/layer.tar";
      if (written.insert(path).second) {
        HULL_TRY(writeDockerLayer(store, out, layers[i], diff_ids[i], path));
      }
      entry["Layers"].push_back(path);
    }
    std::string config_path = s.view.id.hex() + ".json";
    if (written.insert(config_path).second) {
      HULL_TRY(writeBlob(store, out, s.view.id, config_path));
    }
    for (const auto& name : s.names) {
      auto [repo, tag] = splitName(name);
      if (!diff_ids.empty()) repositories[repo][tag] = diff_ids.back().hex();
    }
    manifest.push_back(std::move(entry));
  }
  HULL_TRY(out.addFile("manifest.json", manifest.dump()));
  return out.addFile("repositories", repositories.dump());
}

void collectBlobs(const store::Store& store, const oci::Descriptor& d, std::vector<Digest>& out) {
  if (std::find(out.begin(), out.end(), d.digest) != out.end()) return;
  if (oci::isIndexType(d.media_type)) {
    out.push_back(d.digest);
    auto bytes = store.readBlob(d.digest);
    auto index = bytes ? oci::parseIndex(*bytes) : Result<oci::Index>(fail(bytes.error()));
    if (!index) return;
    for (const auto& child : index->manifests) {
      if (store.hasBlob(child.digest)) collectBlobs(store, child, out);
    }
    return;
  }
  out.push_back(d.digest);
  auto m = store.manifest(d);
  if (!m) return;
  if (std::find(out.begin(), out.end(), m->config.digest) == out.end()) {
    out.push_back(m->config.digest);
  }
  for (const auto& l : m->layers) {
    if (std::find(out.begin(), out.end(), l.digest) == out.end()) out.push_back(l.digest);
  }
}

Result<void> writeOciArchive(const store::Store& store, const std::vector<Selected>& images,
                             TarOut& out) {
  HULL_TRY(out.addFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  std::vector<Digest> blobs;
  oci::Index index;
  index.media_type = oci::kMediaTypeImageIndex;
  for (const auto& s : images) {
    collectBlobs(store, s.view.record.manifest, blobs);
    oci::Descriptor d = s.view.record.manifest;
    d.annotations.clear();
    if (s.names.empty()) index.manifests.push_back(d);
    for (const auto& name : s.names) {
      d.annotations[std::string(oci::kAnnotationRefName)] = name;
      index.manifests.push_back(d);
    }
  }
  for (const auto& b : blobs) HULL_TRY(writeBlob(store, out, b, "blobs/sha256/" + b.hex()));
  return out.addFile("index.json", oci::serialize(index));
}

}  // namespace

Result<void> saveImages(const store::Store& store, const SaveOptions& options, int fd) {
  if (options.refs.empty()) return fail(Errc::kInvalidArgument, "save: no image given");
  // The shared lock keeps a prune from removing blobs while they are being copied.
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(auto images, selectImages(store, options.refs));
  HULL_ASSIGN_OR_RETURN(TarOut out, TarOut::open(fd));
  if (options.format == ArchiveFormat::kDocker) {
    HULL_TRY(writeDockerArchive(store, images, out));
  } else {
    HULL_TRY(writeOciArchive(store, images, out));
  }
  return out.close();
}

Result<void> saveImagesToFile(const store::Store& store, const SaveOptions& options,
                              const fs::path& path) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fs::path tmp = uniquePath(dir, ".hull-save");
  HULL_ASSIGN_OR_RETURN(UniqueFd fd,
                        openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644).map_error([&](Error e) {
                          return Error{e.code, "save: cannot write " + path.string() + ": " +
                                                   e.message.substr(e.message.rfind(": ") + 2)};
                        }));
  ScopeExit cleanup([&] { ::unlink(tmp.c_str()); });
  HULL_TRY(saveImages(store, options, fd.get()));
  if (::fsync(fd.get()) != 0) return failErrno("fsync " + tmp.string());
  fd.reset();
  HULL_TRY(renameDurable(tmp, path));
  cleanup.dismiss();
  return {};
}

}  // namespace hull::engine
