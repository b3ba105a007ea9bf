#include "engine/user.h"

#include <charconv>

#include <fmt/format.h>

#include "engine/text_internal.h"

namespace hull::engine {

namespace {

using detail::splitFields;

constexpr uint32_t kMaxId = 2147483647;  // runc refuses ids beyond int32

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::optional<uint32_t> parseId(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (v > kMaxId) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool isNumeric(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Lines of an /etc file, without comments and blank lines; malformed lines are skipped as
// libcontainer does.
template <class F>
void forEachLine(std::string_view text, F&& f) {
  for (std::string_view line : splitFields(text, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    f(line);
  }
}

std::vector<PasswdEntry> parsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  forEachLine(text, [&](std::string_view line) {
    auto f = splitFields(line, ':');
    if (f.size() < 4) return;
    auto uid = parseId(f[2]);
    auto gid = parseId(f[3]);
    if (!uid || !gid) return;
    out.push_back({.name = std::string(f[0]),
                   .uid = *uid,
                   .gid = *gid,
                   .home = f.size() > 5 ? std::string(f[5]) : std::string()});
  });
  return out;
}

std::vector<GroupEntry> parseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  forEachLine(text, [&](std::string_view line) {
    auto f = splitFields(line, ':');
    if (f.size() < 3) return;
    auto gid = parseId(f[2]);
    if (!gid) return;
    GroupEntry g{.name = std::string(f[0]), .gid = *gid, .members = {}};
    if (f.size() > 3 && !f[3].empty()) {
      for (auto m : splitFields(f[3], ',')) {
        if (!m.empty()) g.members.emplace_back(m);
      }
    }
    out.push_back(std::move(g));
  });
  return out;
}

Result<void> resolveGroup(std::string_view group_arg, const std::optional<std::string>& group,
                          ResolvedUser& user) {
  std::vector<GroupEntry> groups = group ? parseGroup(*group) : std::vector<GroupEntry>{};
  if (!group_arg.empty()) {
    auto numeric = parseId(group_arg);
    for (const auto& g : groups) {
      if (g.name == group_arg || (numeric && g.gid == *numeric)) {
        user.gid = g.gid;
        return {};
      }
    }
    if (isNumeric(group_arg)) {
      if (!numeric) return fail(Errc::kInvalidArgument, "gids must be in range 0-2147483647");
      user.gid = *numeric;
      return {};
    }
    return fail(
        Errc::kInvalidArgument,
        fmt::format("unable to find group {}: no matching entries in group file", group_arg));
  }
  // Supplementary groups come only with the implicit form (runc: "only make sense if in the
  // implicit form").
  if (user.name.empty()) return {};
  for (const auto& g : groups) {
    for (const auto& m : g.members) {
      if (m == user.name) {
        user.additional_gids.push_back(g.gid);
        break;
      }
    }
  }
  return {};
}

}  // namespace

Result<ResolvedUser> resolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                                 const std::optional<std::string>& group) {
  std::string_view user_arg = spec;
  std::string_view group_arg;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) {
    user_arg = spec.substr(0, colon);
    group_arg = spec.substr(colon + 1);
  }
  std::string default_uid = "0";
  if (user_arg.empty()) user_arg = default_uid;  // root, found in passwd when it is listed

  ResolvedUser user;
  auto numeric = parseId(user_arg);
  bool found = false;
  if (passwd) {
    for (const auto& e : parsePasswd(*passwd)) {
      if (e.name == user_arg || (numeric && e.uid == *numeric)) {
        user = ResolvedUser{.uid = e.uid,
                            .gid = e.gid,
                            .additional_gids = {},
                            .name = e.name,
                            .home = e.home.empty() ? std::string("/") : e.home};
        found = true;
        break;
      }
    }
  }
  if (!found) {
    if (!isNumeric(user_arg)) {
      return fail(
          Errc::kInvalidArgument,
          fmt::format("unable to find user {}: no matching entries in passwd file", user_arg));
    }
    if (!numeric) return fail(Errc::kInvalidArgument, "uids must be in range 0-2147483647");
    user.uid = *numeric;
  }
  HULL_TRY(resolveGroup(group_arg, group, user));
  return user;
}

}  // namespace hull::engine
