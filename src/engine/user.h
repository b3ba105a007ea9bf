// Resolves a container user ("name", "uid", "name:group", "uid:gid", "" = root) against the
// image's /etc/passwd and /etc/group, the way runc's libcontainer/user.GetExecUser does for
// Docker: a name must exist in passwd; a number need not (then gid 0 and HOME "/"); supplementary
// groups are the groups that list the user's name, and only when no group was given explicitly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hull::engine {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // supplementary groups, in group-file order
  std::string name;                       // from passwd; "" when unknown
  std::string home = "/";                 // from passwd; "/" when unknown
  friend bool operator==(const ResolvedUser&, const ResolvedUser&) = default;
};

// `passwd` / `group` are the files' contents, nullopt when the image lacks them.
// Errors (kInvalidArgument), as Docker words them:
//   unable to find user NAME: no matching entries in passwd file
//   unable to find group NAME: no matching entries in group file
Result<ResolvedUser> resolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                                 const std::optional<std::string>& group);

}  // namespace hull::engine
