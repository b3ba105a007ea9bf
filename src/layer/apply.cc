// applyLayer: safe extraction of a layer into a directory.
//
// Every path is resolved relative to the destination's directory fd with openat2's
// RESOLVE_IN_ROOT, so symlinks (absolute ones included) and ".." resolve as if dest were "/":
// a layer can point a symlink anywhere, but nothing written through it lands outside dest.
// The final component of an entry is never followed: it is removed and created afresh with the
// *at calls on the resolved parent. Directory modes, owners and times are set last, children
// first, so read-only directories can be filled and their times survive.
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

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "layer/internal.h"
#include "layer/layer.h"

namespace hull::layer {

namespace {

using detail::kOpaqueMarker;
using detail::kWhiteoutPrefix;
using detail::openInRoot;
using detail::quoteName;

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator==(const InodeKey&) const = default;
};
struct InodeKeyHash {
  std::size_t operator()(const InodeKey& k) const {
    return std::hash<uint64_t>()(k.ino * 31 + k.dev);
  }
};

struct DirMeta {
  std::string path;
  mode_t mode = 0755;
  uid_t uid = 0;
  gid_t gid = 0;
  timespec mtime{0, UTIME_OMIT};
  bool from_entry = false;  // false: a parent the layer did not list
};

std::pair<std::string, std::string> splitName(const std::string& name) {
  std::size_t slash = name.rfind('/');
  if (slash == std::string::npos) return {"", name};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

// Removes `name` in `dir_fd` and everything below it, never following a symlink.
Result<void> removeTree(int dir_fd, const char* name) {
  if (::unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR) return failErrno(fmt::format("remove {}", quoteName(name)));
  int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return failErrno(fmt::format("open {}", quoteName(name)));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return failErrno("fdopendir");
  }
  ScopeExit close_dir([&] { ::closedir(dir); });
  while (dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    HULL_TRY(removeTree(fd, d->d_name));
  }
  if (::unlinkat(dir_fd, name, AT_REMOVEDIR) != 0) {
    return failErrno(fmt::format("remove {}", quoteName(name)));
  }
  return {};
}

class Applier {
 public:
  Applier(int root, const ApplyOptions& options, detail::TarReader& tar)
      : root_(root), options_(options), tar_(tar) {}

  Result<void> apply(archive_entry* e, const std::string& name) {
    ++stats_.entries;
    auto where = [&](Error err) {
      return err.wrap("entry " + quoteName(archive_entry_pathname(e)));
    };
    return applyEntry(e, name).map_error(where);
  }

  // Directory metadata last, deepest (latest listed) first.
  Result<void> finish() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      HULL_TRY(fixDir(*it).map_error(
          [&](Error e) { return e.wrap("directory " + quoteName(it->path)); }));
    }
    return {};
  }

  const ApplyStats& stats() const { return stats_; }

 private:
  Result<void> applyEntry(archive_entry* e, const std::string& name) {
    if (name.empty()) return {};  // the root itself: dest keeps its own mode
    auto [parent, base] = splitName(name);
    if (base.starts_with(kWhiteoutPrefix)) return whiteout(parent, base);
    mode_t type = archive_entry_filetype(e);
    bool device = type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO;
    if (archive_entry_hardlink(e) == nullptr && device && !options_.allow_devices) {
      return fail(Errc::kPermission, "device nodes and fifos are not allowed here");
    }
    HULL_ASSIGN_OR_RETURN(int parent_fd, parentDir(parent));
    if (archive_entry_hardlink(e) != nullptr) return hardlink(e, parent_fd, name, base);
    switch (type) {
      case AE_IFDIR:
        return directory(e, parent_fd, name, base);
      case AE_IFREG:
        return regular(e, parent_fd, base);
      case AE_IFLNK:
        return symlink(e, parent_fd, base);
      default:
        return special(e, parent_fd, base);
    }
  }

  mode_t permissions(archive_entry* e) const {
    mode_t mode = archive_entry_perm(e) & 07777;
    if (!options_.allow_setuid) mode &= ~(S_ISUID | S_ISGID);
    return mode;
  }

  void remember(int dir_fd, const char* base) {
    struct stat st {};
    if (::fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
      created_.insert({st.st_dev, st.st_ino});
  }
  bool createdHere(const struct stat& st) const {
    return created_.contains({st.st_dev, st.st_ino});
  }

  // Clears the way for a new entry. Keeps an existing directory when a directory is wanted.
  Result<bool> clearFor(int parent_fd, const std::string& base, bool want_dir) {
    struct stat st {};
    if (::fstatat(parent_fd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      return failErrno("stat");
    }
    if (want_dir && S_ISDIR(st.st_mode)) return true;
    invalidateCache();
    HULL_TRY(removeTree(parent_fd, base.c_str()));
    return false;
  }

  // The parent directory of an entry, resolved inside the root and created when missing.
  Result<int> parentDir(const std::string& parent) {
    if (cache_stale_) {
      cached_fd_.reset();
      cache_stale_ = false;
    }
    if (cached_fd_.valid() && cached_name_ == parent) return cached_fd_.get();
    int fd = openInRoot(root_, parent, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) return createParents(parent);
    if (fd < 0) return failErrno(fmt::format("open parent {}", quoteName(parent)));
    cached_fd_.reset(fd);
    cached_name_ = parent;
    return fd;
  }

  Result<int> createParents(const std::string& parent) {
    UniqueFd current(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
    std::size_t pos = 0;
    while (pos < parent.size()) {
      std::size_t slash = parent.find('/', pos);
      if (slash == std::string::npos) slash = parent.size();
      std::string prefix = parent.substr(0, slash);
      std::string component = parent.substr(pos, slash - pos);
      pos = slash + 1;
      int fd = openInRoot(root_, prefix, O_PATH | O_DIRECTORY);
      if (fd < 0 && errno == ENOENT) {
        if (::mkdirat(current.get(), component.c_str(), 0700) != 0) {
          // EEXIST here is a dangling symlink: its target lies nowhere inside the root.
          return fail(Errc::kCorrupt,
                      fmt::format("parent {} cannot be created: {}", quoteName(prefix),
                                  errno == EEXIST ? "a symlink to a missing directory"
                                                  : std::strerror(errno)));
        }
        remember(current.get(), component.c_str());
        dirs_index_.emplace(prefix, dirs_.size());
        dirs_.push_back(DirMeta{prefix, 0755, 0, 0, {0, UTIME_OMIT}, false});
        fd = openInRoot(root_, prefix, O_PATH | O_DIRECTORY);
      }
      if (fd < 0) return failErrno(fmt::format("open parent {}", quoteName(prefix)));
      current.reset(fd);
    }
    cached_fd_ = std::move(current);
    cached_name_ = parent;
    return cached_fd_.get();
  }

  // A removal may change what a cached name resolves to. The fd stays open until the next
  // lookup: the entry being applied may still be using it.
  void invalidateCache() { cache_stale_ = true; }

  Result<void> whiteout(const std::string& parent, const std::string& base) {
    ++stats_.whiteouts;
    if (base.starts_with(".wh..wh.") && base != kOpaqueMarker) return {};  // aufs metadata
    // Nothing to hide when the directory does not exist below this layer.
    UniqueFd dir(openInRoot(root_, parent, O_RDONLY | O_DIRECTORY));
    if (!dir.valid()) {
      if (errno == ENOENT || errno == ENOTDIR) return {};
      return failErrno(fmt::format("open {}", quoteName(parent)));
    }
    invalidateCache();
    if (base == kOpaqueMarker) return clearLower(dir.get());
    std::string target = base.substr(kWhiteoutPrefix.size());
    struct stat st {};
    if (::fstatat(dir.get(), target.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    // Whiteouts hide lower layers only; an entry of this same layer stays.
    if (createdHere(st)) return {};
    return removeTree(dir.get(), target.c_str());
  }

  // An opaque directory: everything below it that this layer did not write goes. Directories
  // are cleared depth first, so a lower directory holding this layer's files survives with them.
  Result<void> clearLower(int dir_fd) {
    UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* dir = fd.valid() ? ::fdopendir(fd.get()) : nullptr;
    if (dir == nullptr) return failErrno("open opaque directory");
    int raw = fd.release();
    ScopeExit close_dir([&] { ::closedir(dir); });
    std::vector<std::string> names;
    while (dirent* d = ::readdir(dir)) {
      if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0)
        names.emplace_back(d->d_name);
    }
    for (const auto& n : names) {
      struct stat st {};
      if (::fstatat(raw, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (!S_ISDIR(st.st_mode)) {
        if (!createdHere(st) && ::unlinkat(raw, n.c_str(), 0) != 0) {
          return failErrno(fmt::format("remove {}", quoteName(n)));
        }
        continue;
      }
      UniqueFd child(::openat(raw, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) return failErrno(fmt::format("open {}", quoteName(n)));
      HULL_TRY(clearLower(child.get()));
      if (!createdHere(st) && ::unlinkat(raw, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOTEMPTY) {
        return failErrno(fmt::format("remove {}", quoteName(n)));
      }
    }
    return {};
  }

  Result<void> hardlink(archive_entry* e, int parent_fd, const std::string& name,
                        const std::string& base) {
    HULL_ASSIGN_OR_RETURN(std::string target, detail::cleanName(archive_entry_hardlink(e)));
    if (target == name) return {};
    auto [tparent, tbase] = splitName(target);
    UniqueFd tdir(openInRoot(root_, tparent, O_PATH | O_DIRECTORY));
    struct stat st {};
    if (!tdir.valid() || ::fstatat(tdir.get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(Errc::kCorrupt,
                  fmt::format("hard link target {} does not exist", quoteName(target)));
    }
    if (S_ISDIR(st.st_mode)) {
      return fail(Errc::kCorrupt,
                  fmt::format("hard link target {} is a directory", quoteName(target)));
    }
    HULL_TRY(clearFor(parent_fd, base, false));
    if (::linkat(tdir.get(), tbase.c_str(), parent_fd, base.c_str(), 0) != 0) {
      return failErrno(fmt::format("link to {}", quoteName(target)));
    }
    created_.insert({st.st_dev, st.st_ino});
    return {};
  }

  Result<void> directory(archive_entry* e, int parent_fd, const std::string& name,
                         const std::string& base) {
    HULL_ASSIGN_OR_RETURN(bool exists, clearFor(parent_fd, base, true));
    if (!exists && ::mkdirat(parent_fd, base.c_str(), 0700) != 0) return failErrno("mkdir");
    remember(parent_fd, base.c_str());
    DirMeta meta{name,
                 permissions(e),
                 static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)),
                 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                 true};
    auto [it, fresh] = dirs_index_.emplace(name, dirs_.size());
    if (fresh) {
      dirs_.push_back(std::move(meta));
    } else {
      dirs_[it->second] = std::move(meta);
    }
    return {};
  }

  Result<void> regular(archive_entry* e, int parent_fd, const std::string& base) {
    HULL_TRY(clearFor(parent_fd, base, false));
    UniqueFd fd(::openat(parent_fd, base.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return failErrno("create");
    int64_t end = 0;
    HULL_TRY(tar_.readData([&](const void* data, std::size_t size, int64_t offset) -> Result<void> {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return failErrno("write");
        p += n;
        offset += n;
        size -= static_cast<std::size_t>(n);
        stats_.bytes += n;
      }
      end = std::max(end, offset);
      return {};
    }));
    // A sparse file's trailing hole has no data block: the size comes from the header.
    if (end < archive_entry_size(e) && ::ftruncate(fd.get(), archive_entry_size(e)) != 0) {
      return failErrno("truncate");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0) created_.insert({st.st_dev, st.st_ino});
    if (options_.preserve_owners) {
      if (::fchown(fd.get(), archive_entry_uid(e), archive_entry_gid(e)) != 0)
        return failErrno("chown");
      applyXattrs(e, fd.get());
    }
    if (::fchmod(fd.get(), permissions(e)) != 0) return failErrno("chmod");
    timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::futimens(fd.get(), times) != 0) return failErrno("set times");
    return {};
  }

  // Extended attributes where they mean the same in a container: user.* and file capabilities.
  static void applyXattrs(archive_entry* e, int fd) {
    archive_entry_xattr_reset(e);
    const char* key;
    const void* value;
    std::size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      std::string_view k(key);
      if (k.starts_with("user.") || k == "security.capability") {
        (void)::fsetxattr(fd, key, value, size, 0);  // best effort: not every fs has xattrs
      }
    }
  }

  Result<void> symlink(archive_entry* e, int parent_fd, const std::string& base) {
    HULL_TRY(clearFor(parent_fd, base, false));
    if (::symlinkat(archive_entry_symlink(e), parent_fd, base.c_str()) != 0)
      return failErrno("symlink");
    remember(parent_fd, base.c_str());
    return finishNode(e, parent_fd, base, false);
  }

  Result<void> special(archive_entry* e, int parent_fd, const std::string& base) {
    HULL_TRY(clearFor(parent_fd, base, false));
    mode_t type = archive_entry_filetype(e);
    dev_t rdev =
        type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (::mknodat(parent_fd, base.c_str(), type | 0600, rdev) != 0) return failErrno("mknod");
    remember(parent_fd, base.c_str());
    return finishNode(e, parent_fd, base, true);
  }

  // Owner, mode and time of a node that cannot be opened for writing (symlinks, devices).
  Result<void> finishNode(archive_entry* e, int parent_fd, const std::string& base, bool chmod) {
    const char* b = base.c_str();
    if (options_.preserve_owners && ::fchownat(parent_fd, b, archive_entry_uid(e),
                                               archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0) {
      return failErrno("chown");
    }
    // The node was just made by mknodat, so following its name reaches it.
    if (chmod && ::fchmodat(parent_fd, b, permissions(e), 0) != 0) return failErrno("chmod");
    timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::utimensat(parent_fd, b, times, AT_SYMLINK_NOFOLLOW) != 0) return failErrno("set times");
    return {};
  }

  Result<void> fixDir(const DirMeta& d) {
    auto [parent, base] = splitName(d.path);
    UniqueFd pfd(openInRoot(root_, parent, O_PATH | O_DIRECTORY));
    if (!pfd.valid()) return {};  // replaced or removed later in the layer
    UniqueFd fd(::openat(pfd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return {};
    if (d.from_entry && options_.preserve_owners && ::fchown(fd.get(), d.uid, d.gid) != 0) {
      return failErrno("chown");
    }
    if (::fchmod(fd.get(), d.mode) != 0) return failErrno("chmod");
    timespec times[2] = {{0, UTIME_OMIT}, d.mtime};
    if (d.from_entry && ::futimens(fd.get(), times) != 0) return failErrno("set times");
    return {};
  }

  int root_;
  const ApplyOptions& options_;
  detail::TarReader& tar_;
  ApplyStats stats_;
  std::unordered_set<InodeKey, InodeKeyHash> created_;
  std::vector<DirMeta> dirs_;
  std::unordered_map<std::string, std::size_t> dirs_index_;
  UniqueFd cached_fd_;
  std::string cached_name_;
  bool cache_stale_ = false;
};

}  // namespace

Result<ApplyStats> applyLayer(Reader& in, const fs::path& dest, const ApplyOptions& options) {
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return failErrno("apply layer: open " + dest.string());
  HULL_ASSIGN_OR_RETURN(std::unique_ptr<Reader> plain, decompressingReader(in));
  detail::TarReader tar(*plain, [](const void*, std::size_t) -> Result<void> { return {}; });
  Applier applier(root.get(), options, tar);
  while (true) {
    HULL_ASSIGN_OR_RETURN(archive_entry * entry, tar.next());
    if (entry == nullptr) break;
    auto name = detail::cleanName(archive_entry_pathname(entry));
    if (!name) {
      return fail(name.error().wrap("entry " + quoteName(archive_entry_pathname(entry))));
    }
    HULL_TRY(detail::checkEntry(entry, *name));
    HULL_TRY(applier.apply(entry, *name));
  }
  HULL_TRY(applier.finish());
  // Reading to the end catches a compressed stream that is cut or corrupt after the tar's end.
  HULL_TRY(tar.drain());
  return applier.stats();
}

}  // namespace hull::layer
