// What `hull build` reads before it builds: the Dockerfile (from a file or stdin, at most
// dockerfile::kMaxDockerfileSize) and, for CONTEXT "-", a context archive from stdin unpacked
// into the store's tmp/ for the length of the build.
#pragma once

#include <optional>
#include <string>

#include "base/fs.h"
#include "base/result.h"
#include "store/store.h"

namespace hull::cli {

// A directory removed (with everything in it) when this goes out of scope.
class TempDir {
 public:
  TempDir() = default;
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Reads a Dockerfile from `path` ("-" or "/dev/stdin": standard input), refusing one over the
// size limit.
Result<std::string> readDockerfile(const std::string& path);

// Standard input when CONTEXT is "-": either the Dockerfile (no context) or a tar archive, plain
// or compressed, that becomes the context directory.
struct StdinContext {
  std::optional<std::string> dockerfile;  // set when stdin was the Dockerfile
  TempDir context;                        // set when stdin was an archive
};
Result<StdinContext> readStdinContext(const store::Store& store);

}  // namespace hull::cli
