// writeTree: a deterministic tar of a directory: names sorted bytewise, numeric owners only,
// no user or group names, hard links written once, PAX headers where ustar cannot hold a field.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
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

class TreeWriter {
 public:
  explicit TreeWriter(Writer& out)
      : out_(out), archive_(archive_write_new()), buffer_(detail::kBlockSize) {
    archive_write_set_format_pax_restricted(archive_);
    archive_write_set_bytes_per_block(archive_, 64 * 1024);
    archive_write_set_bytes_in_last_block(archive_, 1);  // no padding past the end marker
  }
  ~TreeWriter() { archive_write_free(archive_); }

  Result<int64_t> run(int root_fd) {
    if (archive_write_open2(archive_, this, nullptr, &TreeWriter::writeCallback, nullptr,
                            nullptr) != ARCHIVE_OK) {
      return fail(error("open"));
    }
    HULL_TRY(walk(root_fd, ""));
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

  static Result<std::vector<std::string>> listSorted(int dir_fd) {
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* dir = fd < 0 ? nullptr : ::fdopendir(fd);
    if (dir == nullptr) {
      if (fd >= 0) ::close(fd);
      return failErrno("read directory");
    }
    ScopeExit close_dir([&] { ::closedir(dir); });
    std::vector<std::string> names;
    while (dirent* d = ::readdir(dir)) {
      if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0)
        names.emplace_back(d->d_name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<void> walk(int dir_fd, const std::string& prefix) {
    HULL_ASSIGN_OR_RETURN(std::vector<std::string> names, listSorted(dir_fd));
    for (const auto& n : names) {
      std::string path = prefix + n;
      struct stat st {};
      if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return failErrno("stat " + path);
      HULL_TRY(writeEntry(dir_fd, n, path, st).map_error([&](Error e) { return e.wrap(path); }));
      if (S_ISDIR(st.st_mode)) {
        UniqueFd child(
            ::openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child.valid()) return failErrno("open " + path);
        HULL_TRY(walk(child.get(), path + "/"));
      }
    }
    return {};
  }

  Result<void> writeEntry(int dir_fd, const std::string& name, const std::string& path,
                          const struct stat& st) {
    archive_entry* e = archive_entry_new();
    ScopeExit free_entry([&] { archive_entry_free(e); });
    archive_entry_copy_stat(e, &st);
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_atime(e, 0, 0);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    archive_entry_set_ino64(e, 0);
    archive_entry_set_dev(e, 0);
    archive_entry_set_nlink(e, 0);
    std::optional<UniqueFd> data;
    if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return failErrno("readlink");
      target.resize(static_cast<std::size_t>(n));
      archive_entry_set_symlink(e, target.c_str());
    } else if (S_ISREG(st.st_mode)) {
      auto [it, first] = links_.emplace(std::pair{st.st_dev, st.st_ino}, path);
      if (st.st_nlink > 1 && !first) {
        archive_entry_set_hardlink(e, it->second.c_str());
        archive_entry_set_size(e, 0);
      } else {
        data.emplace(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!data->valid()) return failErrno("open");
      }
    }
    if (archive_write_header(archive_, e) < ARCHIVE_WARN) return fail(error("header"));
    ++entries_;
    if (data) HULL_TRY(copyData(data->get(), st.st_size));
    return {};
  }

  Result<void> copyData(int fd, off_t expected) {
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
  archive* archive_;
  std::vector<char> buffer_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::optional<Error> sink_error_;
  int64_t entries_ = 0;
};

}  // namespace

Result<int64_t> writeTree(const fs::path& root, Writer& out) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return failErrno("write tree: open " + root.string());
  TreeWriter writer(out);
  return writer.run(fd.get());
}

}  // namespace hull::layer
