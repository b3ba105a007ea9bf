#include "engine/run_options.h"

#include <csignal>
#include <set>

#include <fmt/format.h>

namespace hull::engine {

namespace {

// One table drives both directions of the codec, so a new flag cannot be half-wired.
template <class Options, class F>
void forEachField(Options& o, F&& f) {
  f("image", o.image);
  f("command", o.command);
  f("entrypoint", o.entrypoint);
  f("name", o.name);
  f("rm", o.rm);
  f("detach", o.detach);
  f("interactive", o.interactive);
  f("tty", o.tty);
  f("env", o.env);
  f("env_files", o.env_files);
  f("workdir", o.workdir);
  f("user", o.user);
  f("volumes", o.volumes);
  f("mounts", o.mounts);
  f("tmpfs", o.tmpfs);
  f("read_only", o.read_only);
  f("shm_size", o.shm_size);
  f("memory", o.memory);
  f("cpus", o.cpus);
  f("pids_limit", o.pids_limit);
  f("ulimits", o.ulimits);
  f("network", o.network);
  f("hostname", o.hostname);
  f("init", o.init);
  f("cap_add", o.cap_add);
  f("cap_drop", o.cap_drop);
  f("security_opts", o.security_opts);
  f("health_cmd", o.health_cmd);
  f("health_interval", o.health_interval);
  f("health_timeout", o.health_timeout);
  f("health_start_period", o.health_start_period);
  f("health_start_interval", o.health_start_interval);
  f("health_retries", o.health_retries);
  f("no_healthcheck", o.no_healthcheck);
  f("stop_signal", o.stop_signal);
  f("stop_timeout", o.stop_timeout);
  f("labels", o.labels);
  f("label_files", o.label_files);
  f("gpus", o.gpus);
  f("devices", o.devices);
}

template <class T>
void put(Json& j, const char* key, const T& value) {
  j[key] = value;
}
template <class T>
void put(Json& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}

template <class T>
Result<void> get(const Json& j, const char* key, T& out) {
  HULL_ASSIGN_OR_RETURN(out, decodeJson<T>(j, fmt::format("run options {}", key)));
  return {};
}
template <class T>
Result<void> get(const Json& j, const char* key, std::optional<T>& out) {
  if (j.is_null()) {
    out.reset();
    return {};
  }
  HULL_ASSIGN_OR_RETURN(out, decodeJson<T>(j, fmt::format("run options {}", key)));
  return {};
}

struct SignalName {
  const char* name;
  int number;
};
constexpr SignalName kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM},     {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},       {"ILL", SIGILL},
    {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},       {"KILL", SIGKILL},
    {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},     {"PWR", SIGPWR},
    {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT}, {"STOP", SIGSTOP},
    {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},     {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},
};

std::optional<int> parseSmallInt(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string signalName(int number) {
  for (const auto& s : kSignals) {
    if (s.number == number && std::string_view(s.name) != "IOT" &&
        std::string_view(s.name) != "POLL") {
      return std::string("SIG") + s.name;
    }
  }
  if (number == SIGRTMIN) return "SIGRTMIN";
  if (number == SIGRTMAX) return "SIGRTMAX";
  if (number > SIGRTMIN && number < SIGRTMAX) return fmt::format("SIGRTMIN+{}", number - SIGRTMIN);
  return fmt::format("SIG{}", number);
}

}  // namespace

Json toJson(const RunOptions& options) {
  Json j = Json::object();
  forEachField(options, [&](const char* key, const auto& value) { put(j, key, value); });
  return j;
}

Result<RunOptions> runOptionsFromJson(const Json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "run options: not a JSON object");
  RunOptions options;
  std::set<std::string> known;
  Result<void> status;
  forEachField(options, [&](const char* key, auto& value) {
    known.insert(key);
    if (!status) return;
    if (auto it = j.find(key); it != j.end()) status = get(*it, key, value);
  });
  HULL_TRY(status);
  for (const auto& [key, value] : j.items()) {
    if (!known.contains(key)) {
      return fail(Errc::kInvalidArgument, fmt::format("run options: unknown key \"{}\"", key));
    }
  }
  return options;
}

Result<SignalSpec> parseSignal(std::string_view text) {
  auto bad = [&] { return fail(Errc::kInvalidArgument, fmt::format("invalid signal: {}", text)); };
  if (auto n = parseSmallInt(text)) {
    if (*n <= 0 || *n > SIGRTMAX) return bad();
    return SignalSpec{.number = *n, .name = signalName(*n)};
  }
  std::string upper;
  for (char c : text) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (name == s.name) return SignalSpec{.number = s.number, .name = signalName(s.number)};
  }
  auto realtime = [&](std::string_view base, int origin, int sign) -> std::optional<int> {
    if (!name.starts_with(base)) return std::nullopt;
    std::string_view rest = name.substr(base.size());
    if (rest.empty()) return origin;
    if (rest[0] != (sign > 0 ? '+' : '-')) return std::nullopt;
    auto n = parseSmallInt(rest.substr(1));
    if (!n) return std::nullopt;
    return origin + sign * *n;
  };
  std::optional<int> rt = realtime("RTMIN", SIGRTMIN, 1);
  if (!rt) rt = realtime("RTMAX", SIGRTMAX, -1);
  if (rt && *rt >= SIGRTMIN && *rt <= SIGRTMAX) {
    return SignalSpec{.number = *rt, .name = signalName(*rt)};
  }
  return bad();
}

}  // namespace hull::engine
