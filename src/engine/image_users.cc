// Containers as users of images (image_users.h).
#include "engine/image_users.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/containers.h"

namespace hull::engine {

namespace {

std::string shortId(std::string_view id) {
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

}  // namespace

Result<std::vector<ImageUser>> imageUsers(const fs::path& store_root) {
  Containers containers(store_root);
  HULL_ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, containers.list());
  std::vector<ImageUser> users;
  for (ContainerRecord& r : records) {
    (void)reconcileStaleState(r);  // only for this view; the record is left as it is
    users.push_back({.container_id = r.id,
                     .image_id = r.image_id,
                     .running = r.status == ContainerStatus::kRunning});
  }
  return users;
}

Result<void> checkImageRemoval(const std::vector<ImageUser>& users, const ImageRemoval& removal) {
  if (removal.by_name && !removal.last_name) return {};
  std::string image = removal.image_id.str();
  auto first = [&](bool running) {
    return std::find_if(users.begin(), users.end(), [&](const ImageUser& u) {
      return u.image_id == image && (!running || u.running);
    });
  };
  auto any = first(false);
  if (any == users.end()) return {};
  if (removal.by_name && !removal.force) {
    return fail(Errc::kBusy,
                fmt::format("conflict: unable to remove repository reference \"{}\" (must force) "
                            "- container {} is using its referenced image {}",
                            removal.ref, shortId(any->container_id), shortId(image)));
  }
  if (auto running = first(true); running != users.end()) {
    return fail(Errc::kBusy,
                fmt::format("conflict: unable to delete {} (cannot be forced) - image is being "
                            "used by running container {}",
                            shortId(image), shortId(running->container_id)));
  }
  if (!removal.force) {
    return fail(Errc::kBusy,
                fmt::format("conflict: unable to delete {} (must be forced) - image is being used "
                            "by stopped container {}",
                            shortId(image), shortId(any->container_id)));
  }
  return {};
}

}  // namespace hull::engine
