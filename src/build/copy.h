// COPY and ADD: which files a step reads (the build context after .dockerignore, or another
// stage's or image's root), their content digest for the cache key, and the copy itself with
// Docker's rules (docs/commands/build.md, "COPY and ADD").
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "base/result.h"
#include "dockerfile/ast.h"
#include "dockerfile/dockerignore.h"

namespace hull::build {

// Content digests of context files, remembered by (path, size, mtime, ctime, inode) so that an
// unchanged multi-GB context costs a walk of stats, not a read of its bytes (DESIGN.md, "Hash
// what changed"). Persisted in the store (cache/context-stat.json); safe to use from several
// threads.
class StatCache {
 public:
  // A missing or unreadable file gives an empty cache (it is only a cache).
  static std::unique_ptr<StatCache> open(const fs::path& file);
  // The sha256 of the regular file `path` (host path) whose lstat is `st`.
  Result<Digest> fileDigest(const fs::path& path, const struct stat& st);
  // Writes the entries back atomically when something changed; entries not used by this build
  // are dropped so the file does not grow without bound.
  Result<void> save();

 private:
  struct Entry {
    int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
    uint64_t ino = 0;
    Digest digest;
    bool used = false;
  };
  fs::path file_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
};

// A tree that files are copied from.
struct SourceTree {
  fs::path root;  // a directory on the host: the context dir, or a mounted stage/image root
  // The context's .dockerignore; null for a stage or image (nothing is ignored there).
  const dockerfile::IgnoreMatcher* ignore = nullptr;
  StatCache* stat_cache = nullptr;     // the context's; null: hash every file
  std::string what = "build context";  // names the tree in errors: "stage builder", ...
  // A symlink on the way to a source that points outside the tree: an error for the build
  // context; inside a stage or image root (any `what` other than "build context", or this set)
  // it resolves inside that root, as it would in a container.
  bool symlinks_in_root = false;
};

// One COPY or ADD, its variables expanded.
struct CopySpec {
  bool add = false;
  std::vector<std::string>
      sources;  // relative to the tree's root ("/" is its root); globs; ADD: URLs too
  std::vector<dockerfile::Heredoc> inline_sources;  // COPY <<EOF /dest (expanded content)
  std::string dest;                                 // as written
  std::string workdir = "/";                        // the stage's WORKDIR, for a relative dest
  std::string chown;                  // "" or USER[:GROUP] (names resolved in the destination root)
  std::string chmod;                  // "" or an octal mode
  std::vector<std::string> excludes;  // --exclude patterns
  bool parents = false;
  bool link = false;
  std::string checksum;  // ADD --checksum=sha256:HEX
  bool keep_git_dir = false;
};

struct CopyEnv {
  fs::path tmp_dir;  // staging for downloads (the store's tmp/), removed with the CopyOp
  // ADD of a URL: the file's mtime is the Last-Modified header, else this (or 0).
  std::optional<int64_t> source_date_epoch;
};

// A COPY/ADD prepared: sources selected and hashed, URLs downloaded (into tmp_dir, removed when
// the op is destroyed). Errors for a missing source or one outside the tree (also through a
// symlink) say which source; the caller adds the Dockerfile line.
class CopyOp {
 public:
  static Result<CopyOp> prepare(const SourceTree& tree, const CopySpec& spec, const CopyEnv& env);
  CopyOp(CopyOp&&) noexcept;
  CopyOp& operator=(CopyOp&&) noexcept;
  ~CopyOp();

  // The cache input of the sources: each selected path (relative), its type, permission bits,
  // size, link target and content digest, and each URL's content digest. Never mtimes, owners,
  // inode numbers or host paths: touching a file without changing it keeps the digest.
  const Digest& sourcesDigest() const;
  // Copies into `root`, a mounted writable root file system, with Docker's rules (contents of a
  // directory, trailing slashes, --chown by name from root's /etc/passwd and /etc/group, --chmod,
  // --parents, --exclude, ADD's local tar auto-extraction). Every path inside root is resolved
  // relative to it (openat2 RESOLVE_IN_ROOT): nothing is written outside root.
  Result<void> apply(const fs::path& root) const;

 private:
  struct State;
  explicit CopyOp(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace hull::build
