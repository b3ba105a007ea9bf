#include "base/fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>

#include <fmt/format.h>

#include "base/scope_exit.h"

namespace hull {

Result<UniqueFd> openFile(const fs::path& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return failErrno("open " + path.string());
  return UniqueFd(fd);
}

Result<std::string> readFile(const fs::path& path, std::size_t max_size) {
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno("stat " + path.string());
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: file is {} bytes, more than the {} allowed", path.string(),
                            st.st_size, max_size));
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (true) {
    if (got == out.size()) out.resize(out.size() + 4096);
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), out.data() + got, out.size() - got));
    if (n == 0) break;
    got += n;
    if (got > max_size) {
      return fail(Errc::kInvalidArgument, fmt::format("{}: file is more than the {} bytes allowed",
                                                      path.string(), max_size));
    }
  }
  out.resize(got);
  return out;
}

Result<void> writeAll(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

Result<std::size_t> readSome(int fd, void* data, std::size_t size) {
  while (true) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return failErrno("read");
  }
}

Result<void> fsyncPath(const fs::path& path) {
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDONLY));
  if (::fsync(fd.get()) != 0) return failErrno("fsync " + path.string());
  return {};
}

Result<void> mkdirAll(const fs::path& path, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(Errc::kIo, "mkdir " + path.string() + ": " + ec.message());
  (void)mode;
  return {};
}

fs::path uniquePath(const fs::path& dir, std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  // The pid keeps names apart across fork(), which copies the generator's state and the counter.
  thread_local std::mt19937_64 rng(std::random_device{}());
  return dir /
         fmt::format("{}-{}-{:x}-{:x}", prefix, ::getpid(), rng() & 0xffffffffffULL, counter++);
}

Result<void> renameDurable(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return failErrno("rename " + from.string() + " to " + to.string());
  }
  fs::path dir = to.parent_path();
  return fsyncPath(dir.empty() ? fs::path(".") : dir);
}

Result<void> writeFileAtomic(const fs::path& target, std::string_view data, mode_t mode,
                             const fs::path& staging_dir) {
  fs::path dir = staging_dir.empty() ? target.parent_path() : staging_dir;
  if (dir.empty()) dir = ".";
  fs::path tmp = uniquePath(dir, ".tmp");
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
  ScopeExit cleanup([&] { ::unlink(tmp.c_str()); });
  HULL_TRY(writeAll(fd.get(), data).map_error([&](Error e) { return e.wrap(tmp.string()); }));
  if (::fsync(fd.get()) != 0) return failErrno("fsync " + tmp.string());
  fd.reset();
  HULL_TRY(renameDurable(tmp, target));
  cleanup.dismiss();
  return {};
}

Result<void> removeAll(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(Errc::kIo, "remove " + path.string() + ": " + ec.message());
  }
  return {};
}

int openat2Fd(int dirfd, std::string_view path, int flags, uint64_t resolve, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = resolve | RESOLVE_NO_MAGICLINKS;
  std::string rel = path.empty() ? std::string(".") : std::string(path);
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    if (fd < 0 && (errno == EAGAIN || errno == EINTR) && attempt < 16) continue;
    return static_cast<int>(fd);
  }
}

}  // namespace hull
