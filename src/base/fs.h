// File-system helpers shared by every module. Writes that others may observe are atomic: stage
// in the same directory (or a given staging directory on the same file system), fsync, rename,
// fsync the directory (STYLE.md rule 6).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace hull {

namespace fs = std::filesystem;

Result<UniqueFd> openFile(const fs::path& path, int flags, mode_t mode = 0644);

// Reads a whole file; refuses files larger than max_size with kInvalidArgument.
Result<std::string> readFile(const fs::path& path, std::size_t max_size = 64u << 20);

Result<void> writeAll(int fd, const void* data, std::size_t size);
inline Result<void> writeAll(int fd, std::string_view data) {
  return writeAll(fd, data.data(), data.size());
}
// Reads up to size bytes, retrying on EINTR; returns 0 at end of file.
Result<std::size_t> readSome(int fd, void* data, std::size_t size);

Result<void> fsyncPath(const fs::path& path);  // file or directory
Result<void> mkdirAll(const fs::path& path, mode_t mode = 0755);

// openat2(2), which glibc 2.36 does not wrap, for paths inside a root file system or a context
// (STYLE.md rule 5): O_CLOEXEC is added to `flags` and RESOLVE_NO_MAGICLINKS to `resolve`
// (RESOLVE_IN_ROOT or RESOLVE_BENEATH); "" means dirfd itself. The EAGAIN the kernel returns when
// a concurrent rename races the lookup, and EINTR, are retried. Returns the fd, or -1 with errno.
int openat2Fd(int dirfd, std::string_view path, int flags, uint64_t resolve, mode_t mode = 0);

// Writes `data` to `target` atomically. The staging file is created in `staging_dir` when given
// (it must be on the same file system), else next to the target.
Result<void> writeFileAtomic(const fs::path& target, std::string_view data, mode_t mode = 0644,
                             const fs::path& staging_dir = {});

// Moves a fully written and fsynced file into place, then fsyncs the target's directory.
Result<void> renameDurable(const fs::path& from, const fs::path& to);

// A fresh, unique name inside dir ("prefix-XXXXXXXX"), not created.
fs::path uniquePath(const fs::path& dir, std::string_view prefix);

// Removes a path recursively, ignoring a missing one.
Result<void> removeAll(const fs::path& path);

}  // namespace hull
