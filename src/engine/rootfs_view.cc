#include "engine/rootfs_view.h"
#include "base/fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <set>

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

Result<std::optional<std::vector<std::string>>> DirRootfsView::listDir(
    std::string_view path) const {
  using Names = std::optional<std::vector<std::string>>;
  UniqueFd fd(openat2Fd(dir_.get(), path, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return Names();
    return failErrno(fmt::format("open directory {} in rootfs", path));
  }
  // fdopendir takes the fd over: closedir closes it.
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.get()), &::closedir);
  if (!dir) return failErrno(fmt::format("read directory {} in rootfs", path));
  (void)fd.release();
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return failErrno(fmt::format("read directory {} in rootfs", path));
  std::sort(names.begin(), names.end());
  return Names(std::move(names));
}

Result<std::optional<std::vector<std::string>>> MemoryRootfsView::listDir(
    std::string_view path) const {
  std::string prefix(path);
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  std::set<std::string> names;
  bool found = prefix == "/";
  for (const auto& [file, contents] : files_) {
    if (file == path) return std::optional<std::vector<std::string>>();  // a file, not a dir
    if (!file.starts_with(prefix)) continue;
    std::string_view rest = std::string_view(file).substr(prefix.size());
    found = true;
    if (!rest.empty()) names.emplace(rest.substr(0, rest.find('/')));
  }
  if (!found) return std::optional<std::vector<std::string>>();
  return std::optional<std::vector<std::string>>(
      std::vector<std::string>(names.begin(), names.end()));
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
