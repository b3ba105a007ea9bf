// planContainer: `hull run`'s flags and the image config -> an OCI runtime spec and the rest of
// the plan, following Docker's rules (docs/run-spec.md is the table of them).
#include "engine/run_spec.h"

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "engine/run_spec_internal.h"
#include "oci/defaults.h"
#include "runtime/cgroup.h"

namespace hull::engine {

namespace detail {

std::string cleanPath(std::string_view path) {
  if (path.empty()) return {};
  bool absolute = path[0] == '/';
  std::vector<std::string_view> parts;
  for (std::string_view rest = path; !rest.empty();) {
    std::size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..")
        parts.pop_back();
      else if (!absolute)
        parts.push_back(part);
      continue;
    }
    parts.push_back(part);
  }
  std::string out = absolute ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

std::vector<std::string> splitList(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (std::string_view rest = s;;) {
    std::size_t at = rest.find(sep);
    if (std::string_view item = rest.substr(0, at); !item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) return out;
    rest.remove_prefix(at + 1);
  }
}

}  // namespace detail

namespace {

using detail::cleanPath;

constexpr int64_t kMinMemory = 6 * 1024 * 1024;  // Docker's floor for --memory
constexpr int64_t kDefaultShm = 64 * 1024 * 1024;
constexpr int64_t kSecond = 1000000000;

Error flagError(std::string_view flag, std::string_view value, const Error& e) {
  std::string prefix = fmt::format("invalid {} \"{}\"", flag, value);
  if (e.message.starts_with(prefix))
    return Error{.code = Errc::kInvalidArgument, .message = e.message};
  return Error{.code = Errc::kInvalidArgument, .message = fmt::format("{}: {}", prefix, e.message)};
}

// Entrypoint and Cmd, Docker's way: --entrypoint replaces the image's entrypoint and drops its
// Cmd; arguments after IMAGE replace Cmd.
Result<std::vector<std::string>> processArgs(const oci::ContainerConfig& image,
                                             const RunOptions& options) {
  std::vector<std::string> entrypoint = image.entrypoint.value_or(std::vector<std::string>{});
  std::vector<std::string> cmd = image.cmd.value_or(std::vector<std::string>{});
  if (options.entrypoint) {
    entrypoint.clear();
    if (!options.entrypoint->empty()) entrypoint.push_back(*options.entrypoint);
    cmd.clear();
  }
  if (!options.command.empty()) cmd = options.command;
  std::vector<std::string> args = std::move(entrypoint);
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    return fail(Errc::kInvalidArgument,
                "no command specified: the image has no Entrypoint or Cmd; give a command after "
                "the image");
  }
  if (options.init) args.insert(args.begin(), {std::string(kInitPath), "--"});
  return args;
}

std::string envKey(std::string_view kv) { return std::string(kv.substr(0, kv.find('='))); }

// Later values replace earlier ones in place; new keys go at the end (Docker's
// replaceOrAppendEnvValues).
void mergeEnv(std::vector<std::string>& env, const std::vector<std::string>& more) {
  for (const auto& kv : more) {
    std::string key = envKey(kv);
    auto it = std::find_if(env.begin(), env.end(),
                           [&](const std::string& e) { return envKey(e) == key; });
    if (it != env.end())
      *it = kv;
    else
      env.push_back(kv);
  }
}

Result<std::vector<std::string>> processEnv(const oci::ContainerConfig& image,
                                            const RunOptions& options, const ResolvedUser& user,
                                            const std::string& hostname,
                                            const HostEnvironment& host) {
  std::vector<std::string> env = {fmt::format("PATH={}", kDefaultPath),
                                  fmt::format("HOSTNAME={}", hostname)};
  if (options.tty) env.push_back("TERM=xterm");
  mergeEnv(env, image.env);
  for (const auto& file : options.env_files) {
    auto text = host.read_file(file);
    if (!text) return fail(text.error().wrap(fmt::format("--env-file {}", file)));
    HULL_ASSIGN_OR_RETURN(std::vector<std::string> vars, parseEnvFile(*text, file, host));
    mergeEnv(env, vars);
  }
  std::vector<std::string> flags;
  for (const auto& e : options.env) {
    if (e.empty() || e[0] == '=') {
      return fail(Errc::kInvalidArgument, fmt::format("invalid -e \"{}\": empty variable name", e));
    }
    if (e.find('=') != std::string::npos) {
      flags.push_back(e);
    } else if (auto value = host.getenv(e)) {
      flags.push_back(e + "=" + *value);
    }
  }
  mergeEnv(env, flags);
  bool has_home =
      std::any_of(env.begin(), env.end(), [](const std::string& e) { return envKey(e) == "HOME"; });
  if (!has_home) env.push_back("HOME=" + user.home);
  return env;
}

Result<std::string> processCwd(const oci::ContainerConfig& image, const RunOptions& options) {
  if (!options.workdir.empty()) {
    if (options.workdir[0] != '/') {
      return fail(Errc::kInvalidArgument,
                  fmt::format("the working directory '{}' is invalid, it needs to be an absolute "
                              "path",
                              options.workdir));
    }
    return cleanPath(options.workdir);
  }
  if (image.working_dir.empty()) return std::string("/");
  return cleanPath("/" + image.working_dir);
}

struct Security {
  bool no_new_privileges = false;
  bool seccomp_unconfined = false;
  std::string seccomp_file;
  bool system_paths_unconfined = false;
};

Result<Security> parseSecurityOpts(const std::vector<std::string>& opts) {
  Security s;
  for (const auto& opt : opts) {
    std::size_t sep = opt.find_first_of("=:");
    std::string key = opt.substr(0, sep);
    std::string value = sep == std::string::npos ? "" : opt.substr(sep + 1);
    auto bad = [&](std::string_view why) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid --security-opt \"{}\": {}", opt, why));
    };
    if (key == "no-new-privileges") {
      if (value.empty() || value == "true")
        s.no_new_privileges = true;
      else if (value == "false")
        s.no_new_privileges = false;
      else
        return bad("expected true or false");
    } else if (key == "seccomp") {
      if (value.empty()) return bad("expected seccomp=unconfined or seccomp=PROFILE.json");
      s.seccomp_unconfined = value == "unconfined";
      s.seccomp_file = s.seccomp_unconfined ? "" : value;
    } else if (key == "systempaths") {
      if (value != "unconfined") return bad("only systempaths=unconfined exists");
      s.system_paths_unconfined = true;
    } else if (key == "apparmor" && value == "unconfined") {
      continue;  // asks for what hull does anyway: no AppArmor profile
    } else if (key == "label" && value == "disable") {
      continue;  // likewise: no SELinux labels
    } else if (key == "apparmor" || key == "label") {
      return bad(
          "hull applies no AppArmor or SELinux profiles (only apparmor=unconfined and "
          "label=disable are accepted)");
    } else {
      return bad(
          "unknown option (known: no-new-privileges, seccomp, systempaths, "
          "apparmor=unconfined, label=disable)");
    }
  }
  return s;
}

Result<void> planSecurity(const RunOptions& options, const HostEnvironment& host,
                          ContainerPlan& plan) {
  HULL_ASSIGN_OR_RETURN(Security s, parseSecurityOpts(options.security_opts));
  auto caps =
      oci::applyCapChanges(oci::dockerDefaultCapabilities(), options.cap_add, options.cap_drop);
  if (!caps) return fail(caps.error().wrap("--cap-add/--cap-drop"));
  oci::Process& process = *plan.spec.process;
  oci::Capabilities sets;
  sets.bounding = *caps;
  // As Docker (moby oci.SetCapabilities): a non-root user starts with empty effective and
  // permitted sets, as execve would leave them.
  if (plan.user.uid == 0) sets.effective = sets.permitted = *caps;
  process.capabilities = std::move(sets);
  process.no_new_privileges = s.no_new_privileges;
  oci::Linux& linux = *plan.spec.linux;
  if (!s.system_paths_unconfined) {
    linux.masked_paths = oci::dockerMaskedPaths();
    linux.readonly_paths = oci::dockerReadonlyPaths();
  }
  if (s.seccomp_unconfined) return {};
  oci::SeccompContext context{.capabilities = *caps, .arch = "", .kernel = host.kernel};
  if (s.seccomp_file.empty()) {
    linux.seccomp = oci::dockerDefaultSeccomp(context);
    return {};
  }
  auto text = host.read_file(s.seccomp_file);
  if (!text) return fail(text.error().wrap("--security-opt seccomp=" + s.seccomp_file));
  auto profile = oci::parseSeccompProfile(*text, context);
  if (!profile) return fail(profile.error().wrap("--security-opt seccomp=" + s.seccomp_file));
  linux.seccomp = std::move(*profile);
  return {};
}

Result<int64_t> byteFlag(std::string_view flag, std::string_view value) {
  auto bytes = runtime::parseByteSize(value);
  if (!bytes) return fail(flagError(flag, value, bytes.error()));
  return *bytes;
}

Result<void> planResources(const RunOptions& options, ContainerPlan& plan) {
  oci::Resources r;
  bool any = false;
  if (!options.memory.empty()) {
    HULL_ASSIGN_OR_RETURN(int64_t bytes, byteFlag("--memory", options.memory));
    if (bytes != 0 && bytes < kMinMemory) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid --memory \"{}\": minimum memory limit allowed is 6MB",
                              options.memory));
    }
    if (bytes > 0) r.memory_limit = bytes;
    any = any || bytes > 0;
  }
  if (!options.cpus.empty()) {
    auto cpus = runtime::parseCpus(options.cpus);
    if (!cpus) return fail(flagError("--cpus", options.cpus, cpus.error()));
    r.cpu_quota = cpus->first;
    r.cpu_period = cpus->second;
    any = true;
  }
  if (options.pids_limit && *options.pids_limit > 0) {
    r.pids_limit = *options.pids_limit;
    any = true;
  }
  if (any) plan.spec.linux->resources = std::move(r);
  return {};
}

struct UlimitName {
  const char* name;
  const char* type;
  int resource;
};
constexpr UlimitName kUlimits[] = {
    {"as", "RLIMIT_AS", RLIMIT_AS},
    {"core", "RLIMIT_CORE", RLIMIT_CORE},
    {"cpu", "RLIMIT_CPU", RLIMIT_CPU},
    {"data", "RLIMIT_DATA", RLIMIT_DATA},
    {"fsize", "RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"locks", "RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"memlock", "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"msgqueue", "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"nice", "RLIMIT_NICE", RLIMIT_NICE},
    {"nofile", "RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"nproc", "RLIMIT_NPROC", RLIMIT_NPROC},
    {"rss", "RLIMIT_RSS", RLIMIT_RSS},
    {"rtprio", "RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"rttime", "RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"sigpending", "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"stack", "RLIMIT_STACK", RLIMIT_STACK},
};

std::optional<uint64_t> parseLimit(std::string_view s) {
  if (s == "-1" || s == "unlimited") return RLIM_INFINITY;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string limitText(uint64_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

Result<oci::Rlimit> parseUlimit(std::string_view spec, const HostEnvironment& host) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid --ulimit \"{}\": {}", spec, why));
  };
  std::size_t eq = spec.find('=');
  if (eq == std::string_view::npos) return bad("expected NAME=SOFT[:HARD]");
  std::string_view name = spec.substr(0, eq);
  const UlimitName* u = nullptr;
  for (const auto& k : kUlimits) {
    if (name == k.name) u = &k;
  }
  if (u == nullptr) return bad(fmt::format("unknown limit \"{}\"", name));
  std::string_view values = spec.substr(eq + 1);
  std::size_t colon = values.find(':');
  auto soft = parseLimit(values.substr(0, colon));
  auto hard = colon == std::string_view::npos ? soft : parseLimit(values.substr(colon + 1));
  if (!soft || !hard) return bad("limits must be numbers (or -1 for unlimited)");
  if (*soft > *hard) return bad("soft limit must be less than or equal to hard limit");
  uint64_t ceiling = host.hard_rlimit(u->resource);
  if (*hard > ceiling) {
    return bad(
        fmt::format("hard limit {} is above this process's hard limit {} (raising it "
                    "needs CAP_SYS_RESOURCE)",
                    limitText(*hard), limitText(ceiling)));
  }
  return oci::Rlimit{.type = u->type, .hard = *hard, .soft = *soft};
}

Result<void> planRlimits(const RunOptions& options, const HostEnvironment& host,
                         ContainerPlan& plan) {
  std::vector<oci::Rlimit>& limits = plan.spec.process->rlimits;
  for (const auto& spec : options.ulimits) {
    HULL_ASSIGN_OR_RETURN(oci::Rlimit limit, parseUlimit(spec, host));
    auto same = [&](const oci::Rlimit& l) { return l.type == limit.type; };
    if (auto it = std::find_if(limits.begin(), limits.end(), same); it != limits.end()) {
      *it = limit;  // the last --ulimit for a name wins
    } else {
      limits.push_back(limit);
    }
  }
  return {};
}

Result<int64_t> durationFlag(std::string_view flag, const std::string& value, int64_t current) {
  if (value.empty()) return current;
  if (value == "0") return 0;  // Go's ParseDuration takes a bare zero
  if (value.starts_with("-")) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid {} \"{}\": must not be negative", flag, value));
  }
  auto ns = parseGoDuration(value);
  if (!ns) return fail(flagError(flag, value, ns.error()));
  if (*ns != 0 && *ns < 1000000) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid {} \"{}\": must be at least 1ms", flag, value));
  }
  return *ns;
}

bool anyHealthFlag(const RunOptions& o) {
  return o.health_cmd || !o.health_interval.empty() || !o.health_timeout.empty() ||
         !o.health_start_period.empty() || !o.health_start_interval.empty() ||
         o.health_retries.has_value();
}

Result<std::optional<oci::HealthConfig>> planHealth(const oci::ContainerConfig& image,
                                                    const RunOptions& o) {
  if (o.no_healthcheck) {
    if (anyHealthFlag(o)) {
      return fail(Errc::kInvalidArgument, "--no-healthcheck conflicts with --health-* options");
    }
    return std::optional<oci::HealthConfig>();
  }
  oci::HealthConfig h = image.healthcheck.value_or(oci::HealthConfig{});
  if (o.health_cmd) h.test = {"CMD-SHELL", *o.health_cmd};
  HULL_ASSIGN_OR_RETURN(h.interval,
                        durationFlag("--health-interval", o.health_interval, h.interval));
  HULL_ASSIGN_OR_RETURN(h.timeout, durationFlag("--health-timeout", o.health_timeout, h.timeout));
  HULL_ASSIGN_OR_RETURN(
      h.start_period, durationFlag("--health-start-period", o.health_start_period, h.start_period));
  HULL_ASSIGN_OR_RETURN(h.start_interval, durationFlag("--health-start-interval",
                                                       o.health_start_interval, h.start_interval));
  if (o.health_retries) {
    if (*o.health_retries < 0) {
      return fail(Errc::kInvalidArgument, "--health-retries cannot be negative");
    }
    h.retries = *o.health_retries;
  }
  if (h.test.empty() || h.test[0] == "NONE") return std::optional<oci::HealthConfig>();
  if (h.test[0] != "CMD" && h.test[0] != "CMD-SHELL") {
    return fail(Errc::kInvalidArgument,
                fmt::format("health check test must start with CMD, CMD-SHELL or NONE, not \"{}\"",
                            h.test[0]));
  }
  if (h.interval == 0) h.interval = 30 * kSecond;
  if (h.timeout == 0) h.timeout = 30 * kSecond;
  if (h.start_interval == 0) h.start_interval = 5 * kSecond;
  if (h.retries == 0) h.retries = 3;
  return std::optional<oci::HealthConfig>(std::move(h));
}

Result<void> addLabels(std::map<std::string, std::string>& labels,
                       const std::vector<std::string>& items, std::string_view flag) {
  for (const auto& item : items) {
    std::size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (key.empty()) {
      return fail(Errc::kInvalidArgument, fmt::format("invalid {} \"{}\": empty key", flag, item));
    }
    labels[key] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
  return {};
}

Result<void> planLabels(const oci::ContainerConfig& image, const RunOptions& options,
                        const HostEnvironment& host, ContainerPlan& plan) {
  plan.labels = image.labels;
  for (const auto& file : options.label_files) {
    auto text = host.read_file(file);
    if (!text) return fail(text.error().wrap(fmt::format("--label-file {}", file)));
    std::vector<std::string> items;
    for (const std::string& line : detail::splitList(*text, '\n')) {
      std::string_view l = line;
      while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (!l.empty() && l[0] != '#') items.emplace_back(l);
    }
    HULL_TRY(addLabels(plan.labels, items, "--label-file " + file));
  }
  return addLabels(plan.labels, options.labels, "--label");
}

Result<void> planStop(const oci::ContainerConfig& image, const RunOptions& options,
                      ContainerPlan& plan) {
  std::string signal = !options.stop_signal.empty() ? options.stop_signal : image.stop_signal;
  if (!signal.empty()) {
    auto parsed = parseSignal(signal);
    if (!parsed) {
      return fail(
          Errc::kInvalidArgument,
          fmt::format("invalid {} \"{}\"",
                      options.stop_signal.empty() ? "image StopSignal" : "--stop-signal", signal));
    }
    plan.stop_signal = *parsed;
  }
  if (options.stop_timeout) plan.stop_timeout = *options.stop_timeout;
  return {};
}

oci::Linux planLinux(const RunOptions& options, const std::string& container_id) {
  oci::Linux linux;
  linux.namespaces.push_back({.type = "pid", .path = ""});
  if (options.network == "none") linux.namespaces.push_back({.type = "network", .path = ""});
  for (const char* ns : {"ipc", "uts", "mount", "cgroup"}) {
    linux.namespaces.push_back({.type = ns, .path = ""});
  }
  linux.cgroups_path = "/hull/" + container_id;
  return linux;
}

Result<oci::Process> planProcess(const oci::ImageConfig& image, const RunOptions& options,
                                 const ContainerPlan& plan, const HostEnvironment& host) {
  oci::Process p;
  p.terminal = options.tty;
  p.user = oci::User{.uid = plan.user.uid,
                     .gid = plan.user.gid,
                     .umask = std::nullopt,
                     .additional_gids = plan.user.additional_gids};
  HULL_ASSIGN_OR_RETURN(p.args, processArgs(image.config, options));
  HULL_ASSIGN_OR_RETURN(p.env, processEnv(image.config, options, plan.user, plan.hostname, host));
  HULL_ASSIGN_OR_RETURN(p.cwd, processCwd(image.config, options));
  return p;
}

Result<ResolvedUser> planUser(const oci::ContainerConfig& image, const RunOptions& options,
                              const RootfsView& rootfs) {
  std::string spec = !options.user.empty() ? options.user : image.user;
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> passwd, rootfs.readFile("/etc/passwd"));
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> group, rootfs.readFile("/etc/group"));
  return resolveUser(spec, passwd, group);  // Docker's own words name the user already
}

}  // namespace

Result<ContainerPlan> planContainer(const oci::ImageConfig& image, const RunOptions& options,
                                    const RootfsView& rootfs, const std::string& container_id,
                                    const HostEnvironment& host) {
  if (options.network != "host" && options.network != "none" && !options.network.empty()) {
    return fail(Errc::kUnsupported,
                fmt::format("--network {}: only host (the default) and none are supported",
                            options.network));
  }
  if (container_id.size() < 12) {
    return fail(Errc::kInternal, "container id must be at least 12 characters");
  }
  ContainerPlan plan;
  plan.hostname = options.hostname.empty() ? container_id.substr(0, 12) : options.hostname;
  HULL_ASSIGN_OR_RETURN(plan.user, planUser(image.config, options, rootfs));
  HULL_ASSIGN_OR_RETURN(plan.spec.process, planProcess(image, options, plan, host));
  plan.spec.hostname = plan.hostname;
  plan.spec.root = oci::Root{.path = "rootfs", .readonly = options.read_only};
  plan.spec.linux = planLinux(options, container_id);
  HULL_TRY(planSecurity(options, host, plan));
  HULL_TRY(planResources(options, plan));
  HULL_TRY(planRlimits(options, host, plan));
  HULL_TRY(detail::planHostDevices(options, host, plan));
  int64_t shm = kDefaultShm;
  if (!options.shm_size.empty()) {
    HULL_ASSIGN_OR_RETURN(shm, byteFlag("--shm-size", options.shm_size));
    if (shm <= 0) {
      return fail(
          Errc::kInvalidArgument,
          fmt::format("invalid --shm-size \"{}\": must be greater than 0", options.shm_size));
    }
  }
  HULL_TRY(detail::planMounts(image, options, container_id, host, shm, plan));
  HULL_ASSIGN_OR_RETURN(plan.healthcheck, planHealth(image.config, options));
  HULL_TRY(planStop(image.config, options, plan));
  HULL_TRY(planLabels(image.config, options, host, plan));
  return plan;
}

void bindPlanPaths(ContainerPlan& plan, const fs::path& container_dir,
                   const fs::path& volumes_root) {
  plan.spec.root.path = (container_dir / "rootfs").string();
  for (auto& m : plan.spec.mounts) {
    for (std::string_view name : detail::kEtcFiles) {
      if (m.destination == fmt::format("/etc/{}", name) && m.source == name) {
        m.source = (container_dir / name).string();
      }
    }
  }
  for (const auto& v : plan.volumes) {
    plan.spec.mounts[v.mount_index].source = (volumes_root / v.name / "_data").string();
  }
}

}  // namespace hull::engine
