#include "engine/save.h"

#include <fcntl.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "engine/images.h"
#include "layer/layer.h"
#include "oci/media_types.h"

namespace hull::engine {
namespace {

constexpr std::size_t kBufferSize = 1 << 20;

// A tar stream written with libarchive; entries are plain files owned by root at time 0, so the
// same images give the same bytes.
class TarOut {
 public:
  static Result<TarOut> open(int fd) {
    TarOut out;
    out.a_.reset(archive_write_new());
    if (!out.a_) return fail(Errc::kInternal, "archive_write_new failed");
    if (archive_write_set_format_pax_restricted(out.a_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(out.a_.get(), 1) != ARCHIVE_OK ||
        archive_write_open_fd(out.a_.get(), fd) != ARCHIVE_OK) {
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
  std::unique_ptr<archive, decltype(&archive_write_free)> a_{nullptr, archive_write_free};
};

// Copies `in` into the current entry, which must be exactly `size` bytes.
Result<void> copyExactly(layer::Reader& in, TarOut& out, int64_t size, const std::string& what) {
  std::unique_ptr<char[]> buf(new char[kBufferSize]);
  int64_t copied = 0;
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, in.read(buf.get(), kBufferSize));
    if (n == 0) break;
    copied += static_cast<int64_t>(n);
    if (copied > size) break;
    HULL_TRY(out.write(buf.get(), n));
  }
  if (copied != size) {
    return fail(Errc::kCorrupt,
                fmt::format("{}: changed while it was being saved ({} bytes, expected {})", what,
                            copied, size));
  }
  return {};
}

std::unique_ptr<layer::Reader> blobStream(store::BlobReader& blob) {
  return layer::funcReader([&blob](void* p, std::size_t n) { return blob.read(p, n); });
}

Result<void> writeBlob(const store::Store& store, TarOut& out, const Digest& d,
                       const std::string& path) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader blob, store.openBlob(d));
  auto in = blobStream(blob);
  HULL_TRY(out.begin(path, blob.size()));
  return copyExactly(*in, out, blob.size(), "blob " + d.str());
}

// Measures a compressed layer's tar stream and checks it against the config's diff ID: the tar
// header needs the size before the first byte, and a docker-archive names layers by diff ID.
Result<int64_t> uncompressedSize(const store::Store& store, const Digest& d,
                                 const Digest& diff_id) {
  HULL_ASSIGN_OR_RETURN(store::BlobReader blob, store.openBlob(d));
  auto raw = blobStream(blob);
  HULL_ASSIGN_OR_RETURN(auto tar, layer::decompressingReader(*raw));
  std::unique_ptr<char[]> buf(new char[kBufferSize]);
  Sha256 hash;
  int64_t size = 0;
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, tar->read(buf.get(), kBufferSize));
    if (n == 0) break;
    hash.update(buf.get(), n);
    size += static_cast<int64_t>(n);
  }
  if (Digest got = hash.finish(); got != diff_id) {
    return fail(Errc::kCorrupt, fmt::format("layer {}: uncompressed content is {}, the image "
                                            "config says {}",
                                            d.str(), got.str(), diff_id.str()));
  }
  return size;
}

Result<void> writeDockerLayer(const store::Store& store, TarOut& out, const oci::Descriptor& layer,
                              const Digest& diff_id, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(layer::Compression c, layer::compressionOf(layer.media_type));
  if (c == layer::Compression::kNone) return writeBlob(store, out, layer.digest, path);
  HULL_ASSIGN_OR_RETURN(int64_t size, uncompressedSize(store, layer.digest, diff_id));
  HULL_ASSIGN_OR_RETURN(store::BlobReader blob, store.openBlob(layer.digest));
  auto raw = blobStream(blob);
  HULL_ASSIGN_OR_RETURN(auto tar, layer::decompressingReader(*raw));
  HULL_TRY(out.begin(path, size));
  return copyExactly(*tar, out, size, "layer " + layer.digest.str());
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
    Json entry = {
        {"Config", s.view.id.hex() + ".json"}, {"RepoTags", s.names}, {"Layers", Json::array()}};
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
