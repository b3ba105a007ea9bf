// Compiled seccomp filters kept on disk. Building the default profile with libseccomp (rules,
// kernel probes, BPF generation) costs about 10 ms of every container start; a cached entry is
// read and checked in well under a millisecond and loaded with seccomp(2) directly.
//
// An entry is trusted only when the directory and the file are owned by the effective user (root
// for a normal runtime), the directory is writable by no one else, and the file is a regular file
// of mode 0600; it is used only when its header, size and checksum match. Anything else counts
// as a miss: the filter is built as before and the entry rewritten.
#pragma once

#include <linux/filter.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"

namespace hull::runtime {

using BpfProgram = std::vector<sock_filter>;

// sha256 (hex) over the profile and everything else the generated BPF depends on: libseccomp's
// version, the kernel (uname), the native architecture and the entry format.
std::string seccompCacheKey(const oci::Seccomp& spec);

class SeccompCache {
 public:
  // The runtime's cache: "<state root>.seccomp-cache", next to the state root rather than in
  // it, where every entry is a container's state.
  static std::filesystem::path forRuntimeRoot(const std::filesystem::path& state_root);
  // At most this many entries; storing one more empties the directory first.
  static constexpr std::size_t kMaxEntries = 64;

  explicit SeccompCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // The program stored under key, or nullopt when there is none or it is not trusted or valid.
  std::optional<BpfProgram> lookup(const std::string& key) const;
  // Creates the directory (0700) when needed and replaces the entry atomically (0600).
  Result<void> store(const std::string& key, const BpfProgram& program) const;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path entryPath(const std::string& key) const;

 private:
  Result<UniqueFd> openTrustedDir(bool create) const;
  std::filesystem::path dir_;
};

}  // namespace hull::runtime
