// writeDiff: a directory as a deterministic tar, and an overlay upper directory as an OCI layer.
//
// Our own walker rather than libarchive's archive_read_disk: the order must be fixed (names
// sorted bytewise), owners numeric only, times clamped, and overlay's whiteout devices and
// opaque xattrs rewritten as OCI whiteout entries, none of which read_disk offers. libarchive
// still writes every header (PAX only where ustar cannot hold a field).
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "layer/internal.h"
#include "layer/layer.h"

namespace hull::layer {

namespace {

using detail::kOpaqueMarker;
using detail::kWhiteoutPrefix;

constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

using Xattrs = std::vector<std::pair<std::string, std::string>>;

// One name of a directory as it goes into the tar.
struct Item {
  std::string disk_name;  // empty for the opaque marker, which exists only in the tar
  std::string tar_name;
  struct stat st {};
  bool whiteout = false;
};

bool isWhiteoutDevice(const struct stat& st) {
  return S_ISCHR(st.st_mode) && gnu_dev_major(st.st_rdev) == 0 && gnu_dev_minor(st.st_rdev) == 0;
}

// The extended attributes of dir_fd/name (not following a symlink), sorted by name.
Result<Xattrs> readXattrs(int dir_fd, const std::string& name) {
  std::string path = fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
  std::vector<char> names(1024);
  ssize_t n;
  while ((n = ::llistxattr(path.c_str(), names.data(), names.size())) < 0 && errno == ERANGE) {
    names.resize(names.size() * 4);
  }
  if (n < 0) {
    if (errno == ENOTSUP) return Xattrs{};
    return failErrno("list xattrs");
  }
  Xattrs out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n);) {
    std::string key(names.data() + i);
    i += key.size() + 1;
    std::string value(256, '\0');
    ssize_t v;
    while ((v = ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size())) < 0 &&
           errno == ERANGE) {
      value.resize(value.size() * 4);
    }
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return failErrno("read xattr " + key);
    }
    value.resize(static_cast<std::size_t>(v));
    out.emplace_back(std::move(key), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class TreeWriter {
 public:
  TreeWriter(Writer& out, const DiffOptions& options)
      : out_(out), options_(options), archive_(archive_write_new()), buffer_(detail::kBlockSize) {
    archive_write_set_format_pax_restricted(archive_);
    archive_write_set_bytes_per_block(archive_, 64 * 1024);
    archive_write_set_bytes_in_last_block(archive_, 1);  // no padding past the end marker
  }
  ~TreeWriter() { archive_write_free(archive_); }
  TreeWriter(const TreeWriter&) = delete;
  TreeWriter& operator=(const TreeWriter&) = delete;

  Result<int64_t> run(int root_fd) {
    if (archive_write_open2(archive_, this, nullptr, &TreeWriter::writeCallback, nullptr,
                            nullptr) != ARCHIVE_OK) {
      return fail(error("open"));
    }
    HULL_TRY(walk(root_fd, "", std::nullopt));
    if (archive_write_close(archive_) != ARCHIVE_OK) return fail(error("close"));
    HULL_TRY(out_.finish());
    return entries_;
  }

 private:
  static la_ssize_t writeCallback(archive* a, void* self_ptr, const void* data, std::size_t size) {
    auto* self = static_cast<TreeWriter*>(self_ptr);
    auto r = self->out_.write(data, size);
    if (!r) {
      self->sink_error_ = r.error();
      archive_set_error(a, EIO, "%s", r.error().message.c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(size);
  }

  Error error(std::string_view what) {
    if (sink_error_) return *sink_error_;
    const char* msg = archive_error_string(archive_);
    return Error{Errc::kIo, fmt::format("write tar: {}: {}", what, msg ? msg : "failed")};
  }

  // The names of a directory as they go into the tar, sorted by their tar names. `opaque` holds
  // the directory's own stat when overlay marked it opaque: its marker is one more name.
  Result<std::vector<Item>> listSorted(int dir_fd, const std::optional<struct stat>& opaque) {
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* dir = fd < 0 ? nullptr : ::fdopendir(fd);
    if (dir == nullptr) {
      if (fd >= 0) ::close(fd);
      return failErrno("read directory");
    }
    ScopeExit close_dir([&] { ::closedir(dir); });
    std::vector<Item> items;
    while (dirent* d = ::readdir(dir)) {
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
      Item item;
      item.disk_name = item.tar_name = d->d_name;
      if (::fstatat(dir_fd, d->d_name, &item.st, AT_SYMLINK_NOFOLLOW) != 0)
        return failErrno(fmt::format("stat {}", d->d_name));
      if (options_.overlay && isWhiteoutDevice(item.st)) {
        item.whiteout = true;
        item.tar_name = std::string(kWhiteoutPrefix) + item.disk_name;
      }
      items.push_back(std::move(item));
    }
    if (opaque) {
      Item marker;
      marker.tar_name = std::string(kOpaqueMarker);
      marker.st = *opaque;
      items.push_back(std::move(marker));
    }
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.tar_name < b.tar_name; });
    return items;
  }

  Result<void> walk(int dir_fd, const std::string& prefix,
                    const std::optional<struct stat>& opaque) {
    HULL_ASSIGN_OR_RETURN(std::vector<Item> items, listSorted(dir_fd, opaque));
    for (const auto& item : items) {
      std::string path = prefix + item.tar_name;
      Xattrs xattrs;
      if (!item.disk_name.empty() && !item.whiteout && (options_.xattrs || options_.overlay)) {
        auto read = readXattrs(dir_fd, item.disk_name);
        if (!read) return fail(read.error().wrap(path));
        xattrs = std::move(*read);
      }
      HULL_ASSIGN_OR_RETURN(bool is_opaque, overlayXattrs(xattrs, path));
      HULL_TRY(
          writeEntry(dir_fd, item, path, xattrs).map_error([&](Error e) { return e.wrap(path); }));
      if (!item.disk_name.empty() && !item.whiteout && S_ISDIR(item.st.st_mode)) {
        UniqueFd child(::openat(dir_fd, item.disk_name.c_str(),
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child.valid()) return failErrno("open " + path);
        HULL_TRY(walk(child.get(), path + "/", is_opaque ? std::optional(item.st) : std::nullopt));
      }
    }
    return {};
  }

  // Takes overlay's own attributes out of `xattrs` (all of them when not keeping xattrs);
  // returns whether the directory is opaque. Renamed directories (redirect) and metadata-only
  // copies (metacopy) lack their contents in the upper dir: such a diff would be wrong.
  Result<bool> overlayXattrs(Xattrs& xattrs, const std::string& path) {
    bool opaque = false;
    for (const auto& [key, value] : xattrs) {
      if (!options_.overlay || !key.starts_with(kOverlayXattrPrefix)) continue;
      std::string_view what = std::string_view(key).substr(kOverlayXattrPrefix.size());
      if (what == "opaque") opaque = value == "y";
      if (what == "redirect" || what == "metacopy") {
        return fail(Errc::kUnsupported,
                    fmt::format("{}: overlay {} in the upper dir (mount with redirect_dir=off, "
                                "metacopy=off)",
                                path, what));
      }
    }
    std::erase_if(xattrs, [&](const auto& kv) {
      return !options_.xattrs || (options_.overlay && kv.first.starts_with(kOverlayXattrPrefix));
    });
    return opaque;
  }

  // The times a header carries: mtime only, whole seconds in a layer, clamped when asked.
  void setTimes(archive_entry* e, const struct stat& st) {
    int64_t sec = st.st_mtim.tv_sec;
    long nsec = options_.overlay ? 0 : st.st_mtim.tv_nsec;
    if (options_.source_date_epoch && sec >= *options_.source_date_epoch) {
      sec = *options_.source_date_epoch;
      nsec = 0;
    }
    archive_entry_set_mtime(e, sec, nsec);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
  }

  // A whiteout or opaque marker: an empty regular file (Docker's overlay differ writes them so).
  void markerHeader(archive_entry* e, const Item& item) {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, item.whiteout ? 0600 : (item.st.st_mode & 07777));
    archive_entry_set_uid(e, item.st.st_uid);
    archive_entry_set_gid(e, item.st.st_gid);
    archive_entry_set_size(e, 0);
  }

  Result<void> writeEntry(int dir_fd, const Item& item, const std::string& path,
                          const Xattrs& xattrs) {
    archive_entry* e = archive_entry_new();
    ScopeExit free_entry([&] { archive_entry_free(e); });
    const struct stat& st = item.st;
    bool marker = item.whiteout || item.disk_name.empty();
    if (marker) {
      markerHeader(e, item);
    } else {
      archive_entry_copy_stat(e, &st);
      archive_entry_set_ino64(e, 0);
      archive_entry_set_dev(e, 0);
      archive_entry_set_nlink(e, 0);
    }
    archive_entry_set_pathname(e, path.c_str());
    setTimes(e, st);
    for (const auto& [key, value] : xattrs) {
      archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
    }
    std::optional<UniqueFd> data;
    if (!marker && S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(dir_fd, item.disk_name.c_str(), target.data(), target.size());
      if (n < 0) return failErrno("readlink");
      target.resize(static_cast<std::size_t>(n));
      archive_entry_set_symlink(e, target.c_str());
    } else if (!marker && S_ISREG(st.st_mode)) {
      auto [it, first] = links_.emplace(std::pair{st.st_dev, st.st_ino}, path);
      if (st.st_nlink > 1 && !first) {
        archive_entry_set_hardlink(e, it->second.c_str());
        archive_entry_set_size(e, 0);
      } else {
        data.emplace(::openat(dir_fd, item.disk_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!data->valid()) return failErrno("open");
      }
    }
    if (archive_write_header(archive_, e) < ARCHIVE_WARN) return fail(error("header"));
    ++entries_;
    if (data) HULL_TRY(copyData(data->get(), st.st_size));
    return {};
  }

  Result<void> copyData(int fd, off_t expected) {
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    off_t total = 0;
    while (true) {
      HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd, buffer_.data(), buffer_.size()));
      if (n == 0) break;
      // A file that grows while it is read must not overrun its header's size.
      n = static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(n), expected - total));
      if (n == 0) break;
      if (archive_write_data(archive_, buffer_.data(), n) < 0) return fail(error("data"));
      total += static_cast<off_t>(n);
    }
    if (total != expected) return fail(Errc::kIo, "file changed size while being read");
    return {};
  }

  Writer& out_;
  DiffOptions options_;
  archive* archive_;
  std::vector<char> buffer_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::optional<Error> sink_error_;
  int64_t entries_ = 0;
};

}  // namespace

Result<int64_t> writeDiff(const fs::path& root, Writer& out, const DiffOptions& options) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return failErrno("write tree: open " + root.string());
  TreeWriter writer(out, options);
  return writer.run(fd.get());
}

Result<LayerInfo> writeDiffLayer(const fs::path& root, Writer& out, Compression compression,
                                 const DiffOptions& options, int threads) {
  // tar -> diff ID hash -> compressor (its own workers) -> blob hash -> out, in one pass.
  detail::HashingWriter blob(out, compression != Compression::kNone);
  std::unique_ptr<Writer> compressor = compressingWriter(blob, compression, threads);
  detail::HashingWriter tar(*compressor, true);
  HULL_ASSIGN_OR_RETURN(int64_t entries, writeDiff(root, tar, options));
  LayerInfo info;
  info.diff_id = tar.digest();
  info.uncompressed_size = tar.size();
  info.digest = compression == Compression::kNone ? info.diff_id : blob.digest();
  info.size = blob.size();
  info.media_type = std::string(layerMediaType(compression));
  info.entries = entries;
  return info;
}

}  // namespace hull::layer
