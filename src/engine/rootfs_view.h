// Read-only access to files inside an image's root file system, for planning (passwd, group).
// The real implementation resolves every path through a directory fd with openat2
// RESOLVE_IN_ROOT, so a symlinked /etc/passwd in a hostile image cannot read host files; the
// in-memory one serves unit tests.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace hull::engine {

class RootfsView {
 public:
  virtual ~RootfsView() = default;
  // The contents of an absolute path inside the rootfs; nullopt when it does not exist (or is
  // not a regular file). Files over max_size are an error.
  virtual Result<std::optional<std::string>> readFile(std::string_view path,
                                                      std::size_t max_size = 4u << 20) const = 0;
  // The names in an absolute directory path inside the rootfs, sorted, without "." and "..";
  // nullopt when it does not exist (or is not a directory). For the image's CUDA compat
  // libraries (gpu::kCompatDir).
  virtual Result<std::optional<std::vector<std::string>>> listDir(std::string_view path) const = 0;
};

// Over a directory on disk (a mounted rootfs or an unpacked snapshot).
class DirRootfsView : public RootfsView {
 public:
  static Result<DirRootfsView> open(const fs::path& dir);
  Result<std::optional<std::string>> readFile(std::string_view path,
                                              std::size_t max_size = 4u << 20) const override;
  Result<std::optional<std::vector<std::string>>> listDir(std::string_view path) const override;
  int fd() const { return dir_.get(); }

 private:
  explicit DirRootfsView(UniqueFd dir) : dir_(std::move(dir)) {}
  UniqueFd dir_;
};

// Files held in memory (absolute path -> contents): the fake for unit and golden tests.
class MemoryRootfsView : public RootfsView {
 public:
  MemoryRootfsView() = default;
  explicit MemoryRootfsView(std::map<std::string, std::string> files) : files_(std::move(files)) {}
  void put(std::string path, std::string contents) {
    files_[std::move(path)] = std::move(contents);
  }
  Result<std::optional<std::string>> readFile(std::string_view path,
                                              std::size_t max_size = 4u << 20) const override;
  // The directories are those of the files' paths: "/a/b/c" makes "/", "/a" and "/a/b".
  Result<std::optional<std::vector<std::string>>> listDir(std::string_view path) const override;

 private:
  std::map<std::string, std::string> files_;  // absolute path -> contents
};

namespace detail {

// openat2(root_fd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), "" naming
// the root itself; -1 and errno on failure.
int openInRoot(int root_fd, const std::string& path, int flags);

}  // namespace detail

}  // namespace hull::engine
