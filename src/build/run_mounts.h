// RUN --mount: each dockerfile::Mount turned into what the executor mounts, with the resources
// it holds for the duration of the step (docs/commands/build.md, "RUN --mount").
//   cache   a directory in the store (Cache::mountDir), made with uid/gid/mode; sharing=locked
//           holds an flock for the step, private gets a directory of its own while another
//           step uses the shared one
//   secret  the secret's bytes in a 0400 file under tmp/ bind-mounted read-only at target
//           (default /run/secrets/ID), or exported as env; removed after the step; required=true
//           and a missing secret is an error, else the mount is skipped
//   bind    from the context, a stage or an image (source inside it, resolved without leaving
//           it); rw gives the step a throwaway copy, never the context itself
//   tmpfs   a tmpfs of the given size
//   ssh     refused: "RUN --mount=type=ssh is not supported"
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/result.h"
#include "build/build.h"
#include "build/cache.h"
#include "dockerfile/instructions.h"

namespace hull::build {

struct MountEnv {
  const store::Store* store = nullptr;
  const Cache* cache = nullptr;
  const BuildOptions* options = nullptr;  // secrets and the context dir
  // The root a `from=` names (a stage by index, or an image ref), mounted for reading.
  std::function<Result<std::unique_ptr<Mounted>>(const dockerfile::Mount&)> mount_from;
};

// The mounts of one RUN step and everything they hold; released when destroyed.
class RunMounts {
 public:
  static Result<RunMounts> resolve(const std::vector<dockerfile::Mount>& mounts,
                                   const MountEnv& env);
  RunMounts(RunMounts&&) noexcept;
  RunMounts& operator=(RunMounts&&) noexcept;
  ~RunMounts();

  const std::vector<RunMount>& mounts() const;
  std::vector<std::string> env() const;  // "K=V" for secrets with env=

 private:
  struct State;
  explicit RunMounts(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The mounts' part of a RUN's cache key: type, target, id, sharing, source, from, mode, uid,
// gid, size, readonly, env — never a secret's content. `from_key` gives the key of what a bind
// mount's `from` names (a stage's final key, an image's manifest digest; the context's content
// digest of `source` when `from` is empty).
std::vector<std::string> canonicalMounts(
    const std::vector<dockerfile::Mount>& mounts,
    const std::function<Digest(const dockerfile::Mount&)>& from_key);

}  // namespace hull::build
