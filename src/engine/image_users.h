// Which containers use which images: what `rmi` must respect (Docker refuses to remove an image a
// container uses unless forced, and never while the container runs) and what prune keeps.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/fs.h"
#include "base/result.h"

namespace hull::engine {

struct ImageUser {
  std::string container_id;  // 64 hex
  std::string image_id;      // "sha256:..." as the record keeps it
  bool running = false;      // running per its record, and its monitor is alive
};

// Every container of the store at `store_root` and the image it was made from, newest first. A
// record that says running but whose monitor is gone counts as stopped (as `ps` shows it).
Result<std::vector<ImageUser>> imageUsers(const fs::path& store_root);

// What `rmi` is about to do to one image.
struct ImageRemoval {
  std::string_view ref;  // as the user typed it
  Digest image_id;
  bool by_name = false;    // ref is a name (only that name goes) rather than an ID or digest
  bool last_name = false;  // with by_name: no other name points at the image
  bool force = false;
};

// Docker's rules: a name that is not the image's last one can always go. Otherwise a running
// container's image cannot be removed even with force; a stopped container's only with force.
// kBusy with Docker's "conflict: ..." message when the removal must not happen.
Result<void> checkImageRemoval(const std::vector<ImageUser>& users, const ImageRemoval& removal);

}  // namespace hull::engine
