#include "runtime/state_store.h"

#include <ctime>

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "base/fs.h"

namespace hull::runtime {

Json toJson(const StoredState& s) {
  Json j = {{"id", s.id},
            {"pid", s.pid},
            {"pidStartTime", s.pid_start_time},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"created", s.created},
            {"cgroupPath", s.cgroup_path},
            {"owner", s.owner}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  if (s.late_hooks) j["lateHooks"] = *s.late_hooks;
  return j;
}

Result<StoredState> storedStateFromJson(const Json& j) {
  try {
    StoredState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.at("pidStartTime").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.cgroup_path = j.value("cgroupPath", "");
    s.owner = j.value("owner", "");
    if (j.contains("annotations")) {
      s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    }
    if (j.contains("lateHooks")) s.late_hooks = j.at("lateHooks").get<bool>();
    return s;
  } catch (const std::exception& e) {
    return fail(Errc::kCorrupt, std::string("state.json: ") + e.what());
  }
}

std::optional<ProcessStat> parseProcessStat(std::string_view text) {
  // "pid (comm) S ppid ..."; comm may contain ") ", so split at the last ')'.
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return std::nullopt;
  std::string_view rest = text.substr(close + 2);
  ProcessStat st;
  st.state = rest[0];
  // Fields after comm start at field 3 (state); starttime is field 22.
  int field = 3;
  std::size_t pos = 0;
  while (field < 22) {
    pos = rest.find(' ', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++pos;
    ++field;
  }
  std::string_view value = rest.substr(pos, rest.find(' ', pos) - pos);
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), st.start_time);
  if (ec != std::errc()) return std::nullopt;
  return st;
}

std::optional<ProcessStat> readProcessStat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = readFile(fmt::format("/proc/{}/stat", pid), 4096);
  if (!text) return std::nullopt;
  return parseProcessStat(*text);
}

bool initAlive(const StoredState& s) {
  auto st = readProcessStat(s.pid);
  return st && st->start_time == s.pid_start_time && st->state != 'Z' && st->state != 'X';
}

Result<void> validateId(std::string_view id) {
  auto bad = fail(Errc::kInvalidArgument, "invalid container id \"" + std::string(id) + "\"");
  if (id.empty() || id == "." || id == ".." || id.size() > 1024) return bad;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+' && c != '-' &&
        c != '.') {
      return bad;
    }
  }
  return {};
}

std::string nowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}

}  // namespace hull::runtime
