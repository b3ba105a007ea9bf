// Pieces shared by the COPY/ADD sources (copy.cc, copy_apply.cc, copy_fetch.cc); not part of
// the build module's contract.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "build/copy.h"

namespace hull::build::detail {

// One file system object to write: `rel` is its path below the item's destination ("" is the
// destination itself). Host files are read from `host`; inline and downloaded ones from `data`
// or `host` as well (downloads live in the op's tmp dir).
struct CopyEntry {
  std::string rel;
  fs::path host;     // empty for inline content
  std::string data;  // inline content (heredoc)
  mode_t mode = 0;   // type and permission bits
  int64_t size = 0;
  std::string link;  // symlink target
  dev_t rdev = 0;    // device nodes
  Digest digest;     // regular files
  struct timespec mtime = {};
  struct timespec ctime = {};  // with ino: the stat cache's key
  ino_t ino = 0;
};

// One selected source.
struct CopyItem {
  std::string label;               // the source as written, or the path it matched
  std::string name;                // the name used when the destination is a directory
  bool contents = false;           // a directory: its contents are copied, not itself
  bool extract = false;            // ADD of a local tar: extracted into the destination
  std::string prefix;              // --parents: the path kept below the destination
  std::vector<CopyEntry> entries;  // pre-order: a directory before what it holds
};

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// openat2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); -1 and errno on failure.
int openInRoot(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// Resolves --chown's USER[:GROUP] against root's /etc/passwd and /etc/group (read inside root).
Result<Owner> resolveOwner(int root_fd, std::string_view chown);
// Parses --chmod's octal mode ("" gives -1).
Result<int> parseChmod(std::string_view chmod);

// The sha256 of a regular file, streamed.
Result<Digest> hashFile(const fs::path& path);

// True when the file is a tar archive (plain, gzip, bzip2, xz or zstd) that ADD extracts.
bool isArchive(const fs::path& path);
// Extracts the archive into the directory `dir_fd` (see layer::applyLayer for the safety rules).
// Entries keep the archive's owners, or all get `owner` when it is given (ADD --chown).
Result<void> extractArchive(const fs::path& archive, int dir_fd, const Owner* owner);

struct Download {
  fs::path file;  // inside the op's tmp dir
  std::string name;
  Digest digest;
  int64_t size = 0;
  std::optional<int64_t> last_modified;
};
bool isUrl(std::string_view source);
bool isGitUrl(std::string_view source);
// Downloads `url` into `dir` (libcurl), verifying `checksum` ("sha256:HEX") when not empty.
Result<Download> downloadUrl(std::string_view url, const fs::path& dir, std::string_view checksum);

// Writes the prepared items into the root (copy_apply.cc).
struct ApplyPlan {
  const CopySpec* spec = nullptr;
  const std::vector<CopyItem>* items = nullptr;
  std::string dest;  // absolute, cleaned
  bool dest_is_dir = false;
};
Result<void> applyItems(const fs::path& root, const ApplyPlan& plan);

}  // namespace hull::build::detail
