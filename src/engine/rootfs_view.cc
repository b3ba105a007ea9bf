#include "engine/rootfs_view.h"
#include "base/fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace hull::engine {

namespace detail {

int openInRoot(int root_fd, const std::string& path, int flags) {
  return openat2Fd(root_fd, path, flags, RESOLVE_IN_ROOT);
}

}  // namespace detail

Result<DirRootfsView> DirRootfsView::open(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno(fmt::format("open rootfs {}", dir.string()));
  return DirRootfsView(UniqueFd(fd));
}

Result<std::optional<std::string>> DirRootfsView::readFile(std::string_view path,
                                                           std::size_t max_size) const {
  UniqueFd fd(openat2Fd(dir_.get(), path, O_RDONLY | O_NOCTTY | O_NONBLOCK, RESOLVE_IN_ROOT));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return std::optional<std::string>();
    return failErrno(fmt::format("open {} in rootfs", path));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno(fmt::format("stat {} in rootfs", path));
  if (!S_ISREG(st.st_mode)) return std::optional<std::string>();
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} in rootfs is larger than {} bytes", path, max_size));
  }
  std::string out;
  char buf[65536];
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > max_size) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("{} in rootfs is larger than {} bytes", path, max_size));
    }
  }
  return std::optional<std::string>(std::move(out));
}

Result<std::optional<std::string>> MemoryRootfsView::readFile(std::string_view path,
                                                              std::size_t max_size) const {
  auto it = files_.find(std::string(path));
  if (it == files_.end()) return std::optional<std::string>();
  if (it->second.size() > max_size) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} in rootfs is larger than {} bytes", path, max_size));
  }
  return std::optional<std::string>(it->second);
}

}  // namespace hull::engine
