// Writing a prepared COPY/ADD into a root file system. The root belongs to the image being
// built and may hold hostile symlinks: every directory is reached with openat2(RESOLVE_IN_ROOT)
// from the root's fd, and every final component is created relative to its parent's fd with
// O_NOFOLLOW/O_EXCL, so nothing lands outside the root (STYLE.md rule 5).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "base/fs.h"
#include "build/copy_internal.h"
#include "dockerfile/dockerignore.h"

namespace hull::build::detail {

int openInRoot(int root_fd, std::string_view path, int flags, mode_t mode) {
  std::string rel(path);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  return openat2Fd(root_fd, rel, flags, RESOLVE_IN_ROOT, mode);
}

namespace {

std::optional<uint32_t> parseId(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Finds `name` in a passwd or group file read inside the root; returns its fields.
Result<std::optional<std::vector<std::string>>> lookupName(int root_fd, std::string_view file,
                                                           std::string_view name) {
  UniqueFd fd(openInRoot(root_fd, file, O_RDONLY));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::vector<std::string>>();
    return failErrno("open " + std::string(file) + " in the root");
  }
  std::string text;
  char buf[65536];
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), buf, sizeof buf));
    if (n == 0) break;
    text.append(buf, n);
    if (text.size() > (16u << 20))
      return fail(Errc::kInvalidArgument, std::string(file) + " is too large");
  }
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    std::vector<std::string> fields;
    std::size_t f = 0;
    while (true) {
      std::size_t colon = line.find(':', f);
      fields.emplace_back(line.substr(f, colon == std::string_view::npos ? line.npos : colon - f));
      if (colon == std::string_view::npos) break;
      f = colon + 1;
    }
    if (fields.size() >= 3 && fields[0] == name) return std::optional(std::move(fields));
  }
  return std::optional<std::vector<std::string>>();
}

}  // namespace

Result<Owner> resolveOwner(int root_fd, std::string_view chown) {
  std::size_t colon = chown.find(':');
  std::string_view user = chown.substr(0, colon);
  std::string_view group = colon == std::string_view::npos ? "" : chown.substr(colon + 1);
  if (user.empty())
    return fail(Errc::kInvalidArgument, "--chown=" + std::string(chown) + ": no user");
  Owner owner;
  if (auto uid = parseId(user)) {
    owner.uid = *uid;
    owner.gid = *uid;  // a number without a group: the same number as the group
  } else {
    HULL_ASSIGN_OR_RETURN(auto fields, lookupName(root_fd, "etc/passwd", user));
    std::optional<uint32_t> name_uid, name_gid;
    if (fields && fields->size() >= 4) {
      name_uid = parseId((*fields)[2]);
      name_gid = parseId((*fields)[3]);
    }
    if (!name_uid || !name_gid) {
      return fail(Errc::kInvalidArgument, "--chown: unknown user " + std::string(user) +
                                              " (not in the image's /etc/passwd)");
    }
    owner.uid = *name_uid;
    owner.gid = *name_gid;
  }
  if (group.empty()) return owner;
  if (auto gid = parseId(group)) {
    owner.gid = *gid;
    return owner;
  }
  HULL_ASSIGN_OR_RETURN(auto fields, lookupName(root_fd, "etc/group", group));
  std::optional<uint32_t> gid;
  if (fields) gid = parseId((*fields)[2]);
  if (!gid) {
    return fail(Errc::kInvalidArgument, "--chown: unknown group " + std::string(group) +
                                            " (not in the image's /etc/group)");
  }
  owner.gid = *gid;
  return owner;
}

namespace {

std::string joinAbs(std::string_view dir, std::string_view rel) {
  if (rel.empty()) return std::string(dir);
  if (dir == "/") return "/" + std::string(rel);
  return std::string(dir) + "/" + std::string(rel);
}

std::pair<std::string, std::string> splitLast(const std::string& path) {
  std::size_t slash = path.rfind('/');
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  return {parent, path.substr(slash + 1)};
}

// Copies file data, in the kernel where it can (copy_file_range), by reads and writes where the
// file systems do not allow it.
Result<void> copyData(int src, int dst) {
  bool kernel = true;
  while (kernel) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1u << 30, 0);
    if (n == 0) return {};
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
      return failErrno("copy_file_range");
    }
    kernel = false;
  }
  std::vector<char> buf(1u << 20);
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(src, buf.data(), buf.size()));
    if (n == 0) return {};
    HULL_TRY(writeAll(dst, buf.data(), n));
  }
}

class RootWriter {
 public:
  RootWriter(int root_fd, Owner owner, int chmod) : root_(root_fd), owner_(owner), chmod_(chmod) {}

  // mkdir -p inside the root: existing components are followed (inside the root), missing ones
  // are created 0755 with --chown's owner, as BuildKit does for the directories COPY makes.
  Result<UniqueFd> ensureDir(const std::string& path, int links = 0) {
    UniqueFd fd(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
    if (!fd.valid()) return failErrno("dup");
    std::string cur;
    std::size_t start = 1;
    while (start < path.size() + 1) {
      std::size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      std::string comp = path.substr(start, end - start);
      start = end + 1;
      if (comp.empty()) continue;
      cur += "/" + comp;
      int next = openInRoot(root_, cur, O_RDONLY | O_DIRECTORY);
      if (next < 0 && errno != ENOENT) return failErrno("open " + cur + " in the root");
      if (next < 0) {
        if (::mkdirat(fd.get(), comp.c_str(), 0755) != 0) {
          if (errno == EEXIST) return followDangling(fd.get(), comp, cur, path, start, links);
          return failErrno("mkdir " + cur);
        }
        if (::fchownat(fd.get(), comp.c_str(), owner_.uid, owner_.gid, AT_SYMLINK_NOFOLLOW) != 0) {
          return failErrno("chown " + cur);
        }
        next = ::openat(fd.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) return failErrno("open " + cur);
      }
      fd.reset(next);
    }
    return fd;
  }

  // A dangling symlink on the way: mkdir -p goes on at its target, read as a path inside the
  // root (".." stops at the root, as RESOLVE_IN_ROOT does).
  Result<UniqueFd> followDangling(int parent, const std::string& comp, const std::string& cur,
                                  const std::string& path, std::size_t rest, int links) {
    char target[4096];
    ssize_t n = ::readlinkat(parent, comp.c_str(), target, sizeof target - 1);
    if (n < 0 || links >= 40) {
      return fail(Errc::kInvalidArgument, "cannot create directory " + cur + " in the root");
    }
    std::string t(target, static_cast<std::size_t>(n));
    std::string base = t.starts_with("/") ? t : cur.substr(0, cur.rfind('/')) + "/" + t;
    std::string next = base + "/" + (rest < path.size() ? path.substr(rest) : std::string());
    return ensureDir(dockerfile::cleanPath("/" + next), links + 1);
  }

  bool isDir(const std::string& path) {
    UniqueFd fd(openInRoot(root_, path, O_PATH | O_DIRECTORY));
    return fd.valid();
  }

  // Writes one entry as `name` in the directory `parent` (`full` names it in errors).
  Result<void> write(int parent, const std::string& name, const std::string& full,
                     const CopyEntry& e) {
    struct stat cur;
    bool exists = ::fstatat(parent, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(e.mode)) return writeDir(parent, name, full, e, exists ? &cur : nullptr);
    if (exists && S_ISDIR(cur.st_mode)) {
      return fail(Errc::kInvalidArgument, "cannot replace directory " + full + " with a file");
    }
    if (exists && ::unlinkat(parent, name.c_str(), 0) != 0) return failErrno("remove " + full);
    if (S_ISREG(e.mode)) return writeFile(parent, name, full, e);
    if (S_ISLNK(e.mode)) {
      if (::symlinkat(e.link.c_str(), parent, name.c_str()) != 0)
        return failErrno("symlink " + full);
    } else if (::mknodat(parent, name.c_str(), e.mode, e.rdev) != 0) {
      return failErrno("mknod " + full);
    }
    if (::fchownat(parent, name.c_str(), owner_.uid, owner_.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return failErrno("chown " + full);
    }
    if (!S_ISLNK(e.mode) && ::fchmodat(parent, name.c_str(), perms(e), 0) != 0) {
      return failErrno("chmod " + full);
    }
    struct timespec times[2] = {e.mtime, e.mtime};
    if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return failErrno("set times of " + full);
    }
    return {};
  }

  // Directory mtimes are set last: writing their entries would change them again.
  Result<void> finishDirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      UniqueFd fd(openInRoot(root_, it->first, O_RDONLY | O_DIRECTORY));
      if (!fd.valid()) continue;
      struct timespec times[2] = {it->second, it->second};
      ::futimens(fd.get(), times);
    }
    dirs_.clear();
    return {};
  }

 private:
  mode_t perms(const CopyEntry& e) const {
    return chmod_ >= 0 ? static_cast<mode_t>(chmod_) : (e.mode & 07777);
  }

  Result<void> setMeta(int fd, const std::string& full, const CopyEntry& e) {
    if (::fchown(fd, owner_.uid, owner_.gid) != 0) return failErrno("chown " + full);
    // After the chown: chown clears setuid/setgid bits.
    if (::fchmod(fd, perms(e)) != 0) return failErrno("chmod " + full);
    return {};
  }

  Result<void> writeDir(int parent, const std::string& name, const std::string& full,
                        const CopyEntry& e, const struct stat* cur) {
    if (cur != nullptr && S_ISLNK(cur->st_mode) && isDir(full)) return {};  // followed in root
    if (cur != nullptr && !S_ISDIR(cur->st_mode) && ::unlinkat(parent, name.c_str(), 0) != 0) {
      return failErrno("remove " + full);
    }
    if ((cur == nullptr || !S_ISDIR(cur->st_mode)) && ::mkdirat(parent, name.c_str(), 0700) != 0) {
      return failErrno("mkdir " + full);
    }
    UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return failErrno("open " + full);
    HULL_TRY(setMeta(fd.get(), full, e));
    dirs_.emplace_back(full, e.mtime);
    return {};
  }

  Result<void> writeFile(int parent, const std::string& name, const std::string& full,
                         const CopyEntry& e) {
    UniqueFd out(
        ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) return failErrno("create " + full);
    if (e.host.empty()) {
      HULL_TRY(writeAll(out.get(), e.data));
    } else {
      UniqueFd in(::open(e.host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!in.valid()) return failErrno("open " + e.host.string());
      auto copied = copyData(in.get(), out.get());
      if (!copied) return fail(copied.error().wrap("copy to " + full));
    }
    HULL_TRY(setMeta(out.get(), full, e));
    struct timespec times[2] = {e.mtime, e.mtime};
    if (::futimens(out.get(), times) != 0) return failErrno("set times of " + full);
    return {};
  }

  int root_;
  Owner owner_;
  int chmod_;
  std::vector<std::pair<std::string, struct timespec>> dirs_;
};

// Writes an item's entries below the directory `dir` (created when missing).
Result<void> writeContents(RootWriter& w, const std::string& dir, const CopyItem& item) {
  HULL_ASSIGN_OR_RETURN(UniqueFd top, w.ensureDir(dir));
  std::string parent_path;
  UniqueFd parent;
  for (const auto& e : item.entries) {
    std::string full = joinAbs(dir, e.rel);
    auto [ppath, name] = splitLast(full);
    if (!parent.valid() || ppath != parent_path) {
      if (ppath == dir) {
        parent.reset(::fcntl(top.get(), F_DUPFD_CLOEXEC, 0));
      } else {
        HULL_ASSIGN_OR_RETURN(parent, w.ensureDir(ppath));
      }
      parent_path = ppath;
    }
    HULL_TRY(w.write(parent.get(), name, full, e));
  }
  return {};
}

Result<void> writeFileAt(RootWriter& w, const std::string& path, const CopyEntry& e) {
  auto [ppath, name] = splitLast(path);
  HULL_ASSIGN_OR_RETURN(UniqueFd parent, w.ensureDir(ppath));
  return w.write(parent.get(), name, path, e);
}

}  // namespace

Result<void> applyItems(const fs::path& root, const ApplyPlan& plan) {
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return failErrno("open root " + root.string());
  Owner owner;
  if (!plan.spec->chown.empty()) {
    HULL_ASSIGN_OR_RETURN(owner, resolveOwner(root_fd.get(), plan.spec->chown));
  }
  HULL_ASSIGN_OR_RETURN(int chmod, parseChmod(plan.spec->chmod));
  RootWriter w(root_fd.get(), owner, chmod);
  bool dest_dir = plan.dest_is_dir || plan.dest == "/";
  if (!dest_dir && !plan.items->empty()) {
    const CopyItem& only = plan.items->front();
    dest_dir = only.contents || only.extract || w.isDir(plan.dest);
  }
  for (const auto& item : *plan.items) {
    if (!dest_dir) {
      HULL_TRY(writeFileAt(w, plan.dest, item.entries.front()));
    } else if (item.contents) {
      HULL_TRY(writeContents(w, joinAbs(plan.dest, item.prefix), item));
    } else if (item.extract) {
      std::string dir = plan.dest;
      if (!item.prefix.empty()) dir = splitLast(joinAbs(plan.dest, item.prefix)).first;
      HULL_ASSIGN_OR_RETURN(UniqueFd fd, w.ensureDir(dir));
      HULL_TRY(extractArchive(item.entries.front().host, fd.get(),
                              plan.spec->chown.empty() ? nullptr : &owner));
    } else {
      std::string rel = item.prefix.empty() ? item.name : item.prefix;
      HULL_TRY(writeFileAt(w, joinAbs(plan.dest, rel), item.entries.front()));
    }
  }
  return w.finishDirs();
}

}  // namespace hull::build::detail
