// JSON codec of the OCI runtime spec; see runtime_spec.h.
//
// Decoding is strict on the types of the fields it knows (a string where a number belongs is an
// error naming the field) and lenient on fields it does not know, as the spec asks.
#include "oci/runtime_spec.h"

#include <limits>

#include <fmt/format.h>

namespace hull::oci {
namespace {

constexpr std::size_t kMaxSpecBytes = 16u << 20;

// Typed reads of one JSON object; `what` names it in errors ("process.user").
class Obj {
 public:
  Obj(const Json& j, std::string what) : j_(j), what_(std::move(what)) {}

  static Result<Obj> of(const Json& j, std::string what) {
    if (!j.is_object()) return fail(Errc::kInvalidArgument, what + ": must be a JSON object");
    return Obj(j, std::move(what));
  }

  const Json* find(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string name(const char* key) const { return what_.empty() ? key : what_ + "." + key; }
  tl::unexpected<Error> bad(const char* key, const char* type) const {
    return fail(Errc::kInvalidArgument, fmt::format("{}: must be {}", name(key), type));
  }

  Result<std::string> str(const char* key, std::string fallback = {}) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) return bad(key, "a string");
    return v->get<std::string>();
  }
  Result<bool> boolean(const char* key) const {
    const Json* v = find(key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return bad(key, "a boolean");
    return v->get<bool>();
  }
  Result<std::optional<int64_t>> i64(const char* key) const {
    const Json* v = find(key);
    if (v == nullptr) return std::optional<int64_t>();
    if (!v->is_number_integer()) return bad(key, "an integer");
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return bad(key, "a signed 64-bit integer");
    }
    return std::optional<int64_t>(v->get<int64_t>());
  }
  Result<std::optional<uint64_t>> u64(const char* key) const {
    const Json* v = find(key);
    if (v == nullptr) return std::optional<uint64_t>();
    if (!v->is_number_unsigned()) return bad(key, "a non-negative integer");
    return std::optional<uint64_t>(v->get<uint64_t>());
  }
  Result<std::optional<uint32_t>> u32(const char* key) const {
    HULL_ASSIGN_OR_RETURN(auto v, u64(key));
    if (v && *v > std::numeric_limits<uint32_t>::max()) return bad(key, "a 32-bit integer");
    return v ? std::optional<uint32_t>(static_cast<uint32_t>(*v)) : std::nullopt;
  }
  Result<std::optional<int>> i32(const char* key) const {
    HULL_ASSIGN_OR_RETURN(auto v, i64(key));
    if (v && (*v > std::numeric_limits<int>::max() || *v < std::numeric_limits<int>::min())) {
      return bad(key, "a 32-bit integer");
    }
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  }
  Result<std::vector<std::string>> strings(const char* key) const {
    std::vector<std::string> out;
    const Json* v = find(key);
    if (v == nullptr) return out;
    if (!v->is_array()) return bad(key, "an array of strings");
    for (const auto& e : *v) {
      if (!e.is_string()) return bad(key, "an array of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  Result<std::map<std::string, std::string>> stringMap(const char* key) const {
    std::map<std::string, std::string> out;
    const Json* v = find(key);
    if (v == nullptr) return out;
    if (!v->is_object()) return bad(key, "an object of strings");
    for (const auto& [k, e] : v->items()) {
      if (!e.is_string()) return bad(key, "an object of strings");
      out[k] = e.get<std::string>();
    }
    return out;
  }
  // An array of objects, each decoded by `fn(Obj)`.
  template <class T, class F>
  Result<std::vector<T>> objects(const char* key, F fn) const {
    std::vector<T> out;
    const Json* v = find(key);
    if (v == nullptr) return out;
    if (!v->is_array()) return bad(key, "an array");
    for (std::size_t i = 0; i < v->size(); ++i) {
      HULL_ASSIGN_OR_RETURN(Obj o, of((*v)[i], fmt::format("{}[{}]", name(key), i)));
      HULL_ASSIGN_OR_RETURN(T t, fn(o));
      out.push_back(std::move(t));
    }
    return out;
  }
  Result<std::optional<Obj>> object(const char* key) const {
    const Json* v = find(key);
    if (v == nullptr) return std::optional<Obj>();
    HULL_ASSIGN_OR_RETURN(Obj o, of(*v, name(key)));
    return std::optional<Obj>(o);
  }

 private:
  const Json& j_;
  std::string what_;
};

Result<User> userFrom(const Obj& o) {
  User u;
  HULL_ASSIGN_OR_RETURN(auto uid, o.u32("uid"));
  HULL_ASSIGN_OR_RETURN(auto gid, o.u32("gid"));
  u.uid = uid.value_or(0);
  u.gid = gid.value_or(0);
  HULL_ASSIGN_OR_RETURN(u.umask, o.u32("umask"));
  const Json* extra = o.find("additionalGids");
  if (extra != nullptr) {
    if (!extra->is_array()) return o.bad("additionalGids", "an array of integers");
    for (const auto& g : *extra) {
      if (!g.is_number_unsigned() || g.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
        return o.bad("additionalGids", "an array of 32-bit integers");
      }
      u.additional_gids.push_back(g.get<uint32_t>());
    }
  }
  return u;
}

Result<Capabilities> capabilitiesFrom(const Obj& o) {
  Capabilities c;
  HULL_ASSIGN_OR_RETURN(c.bounding, o.strings("bounding"));
  HULL_ASSIGN_OR_RETURN(c.effective, o.strings("effective"));
  HULL_ASSIGN_OR_RETURN(c.inheritable, o.strings("inheritable"));
  HULL_ASSIGN_OR_RETURN(c.permitted, o.strings("permitted"));
  HULL_ASSIGN_OR_RETURN(c.ambient, o.strings("ambient"));
  return c;
}

Result<Rlimit> rlimitFrom(const Obj& o) {
  Rlimit r;
  HULL_ASSIGN_OR_RETURN(r.type, o.str("type"));
  if (r.type.empty()) return fail(Errc::kInvalidArgument, o.name("type") + ": missing");
  HULL_ASSIGN_OR_RETURN(auto hard, o.u64("hard"));
  HULL_ASSIGN_OR_RETURN(auto soft, o.u64("soft"));
  r.hard = hard.value_or(0);
  r.soft = soft.value_or(0);
  return r;
}

Result<Process> processFrom(const Obj& o) {
  Process p;
  HULL_ASSIGN_OR_RETURN(p.terminal, o.boolean("terminal"));
  HULL_ASSIGN_OR_RETURN(auto size, o.object("consoleSize"));
  if (size) {
    HULL_ASSIGN_OR_RETURN(auto h, size->u32("height"));
    HULL_ASSIGN_OR_RETURN(auto w, size->u32("width"));
    p.console_size = ConsoleSize{.height = h.value_or(0), .width = w.value_or(0)};
  }
  HULL_ASSIGN_OR_RETURN(auto user, o.object("user"));
  if (user) {
    HULL_ASSIGN_OR_RETURN(p.user, userFrom(*user));
  }
  HULL_ASSIGN_OR_RETURN(p.args, o.strings("args"));
  HULL_ASSIGN_OR_RETURN(p.env, o.strings("env"));
  HULL_ASSIGN_OR_RETURN(p.cwd, o.str("cwd", "/"));
  HULL_ASSIGN_OR_RETURN(auto caps, o.object("capabilities"));
  if (caps) {
    HULL_ASSIGN_OR_RETURN(p.capabilities, capabilitiesFrom(*caps));
  }
  HULL_ASSIGN_OR_RETURN(p.rlimits, o.objects<Rlimit>("rlimits", rlimitFrom));
  HULL_ASSIGN_OR_RETURN(p.no_new_privileges, o.boolean("noNewPrivileges"));
  HULL_ASSIGN_OR_RETURN(p.apparmor_profile, o.str("apparmorProfile"));
  HULL_ASSIGN_OR_RETURN(p.oom_score_adj, o.i32("oomScoreAdj"));
  return p;
}

Result<Mount> mountFrom(const Obj& o) {
  Mount m;
  HULL_ASSIGN_OR_RETURN(m.destination, o.str("destination"));
  if (m.destination.empty())
    return fail(Errc::kInvalidArgument, o.name("destination") + ": missing");
  HULL_ASSIGN_OR_RETURN(m.type, o.str("type"));
  HULL_ASSIGN_OR_RETURN(m.source, o.str("source"));
  HULL_ASSIGN_OR_RETURN(m.options, o.strings("options"));
  return m;
}

Result<Hook> hookFrom(const Obj& o) {
  Hook h;
  HULL_ASSIGN_OR_RETURN(h.path, o.str("path"));
  if (h.path.empty()) return fail(Errc::kInvalidArgument, o.name("path") + ": missing");
  HULL_ASSIGN_OR_RETURN(h.args, o.strings("args"));
  HULL_ASSIGN_OR_RETURN(h.env, o.strings("env"));
  HULL_ASSIGN_OR_RETURN(h.timeout, o.i32("timeout"));
  return h;
}

Result<Hooks> hooksFrom(const Obj& o) {
  Hooks h;
  HULL_ASSIGN_OR_RETURN(h.prestart, o.objects<Hook>("prestart", hookFrom));
  HULL_ASSIGN_OR_RETURN(h.create_runtime, o.objects<Hook>("createRuntime", hookFrom));
  HULL_ASSIGN_OR_RETURN(h.create_container, o.objects<Hook>("createContainer", hookFrom));
  HULL_ASSIGN_OR_RETURN(h.start_container, o.objects<Hook>("startContainer", hookFrom));
  HULL_ASSIGN_OR_RETURN(h.poststart, o.objects<Hook>("poststart", hookFrom));
  HULL_ASSIGN_OR_RETURN(h.poststop, o.objects<Hook>("poststop", hookFrom));
  return h;
}

Result<IdMapping> idMappingFrom(const Obj& o) {
  HULL_ASSIGN_OR_RETURN(auto c, o.u32("containerID"));
  HULL_ASSIGN_OR_RETURN(auto h, o.u32("hostID"));
  HULL_ASSIGN_OR_RETURN(auto s, o.u32("size"));
  return IdMapping{.container_id = c.value_or(0), .host_id = h.value_or(0), .size = s.value_or(0)};
}

Result<Device> deviceFrom(const Obj& o) {
  Device d;
  HULL_ASSIGN_OR_RETURN(d.path, o.str("path"));
  HULL_ASSIGN_OR_RETURN(d.type, o.str("type"));
  HULL_ASSIGN_OR_RETURN(auto major, o.i64("major"));
  HULL_ASSIGN_OR_RETURN(auto minor, o.i64("minor"));
  d.major = major.value_or(0);
  d.minor = minor.value_or(0);
  HULL_ASSIGN_OR_RETURN(d.file_mode, o.u32("fileMode"));
  HULL_ASSIGN_OR_RETURN(d.uid, o.u32("uid"));
  HULL_ASSIGN_OR_RETURN(d.gid, o.u32("gid"));
  return d;
}

Result<DeviceCgroupRule> deviceRuleFrom(const Obj& o) {
  DeviceCgroupRule r;
  HULL_ASSIGN_OR_RETURN(r.allow, o.boolean("allow"));
  HULL_ASSIGN_OR_RETURN(r.type, o.str("type"));
  HULL_ASSIGN_OR_RETURN(r.major, o.i64("major"));
  HULL_ASSIGN_OR_RETURN(r.minor, o.i64("minor"));
  HULL_ASSIGN_OR_RETURN(r.access, o.str("access"));
  return r;
}

Result<Resources> resourcesFrom(const Obj& o) {
  Resources r;
  HULL_ASSIGN_OR_RETURN(auto memory, o.object("memory"));
  if (memory) {
    HULL_ASSIGN_OR_RETURN(r.memory_limit, memory->i64("limit"));
    HULL_ASSIGN_OR_RETURN(r.memory_reservation, memory->i64("reservation"));
    HULL_ASSIGN_OR_RETURN(r.memory_swap, memory->i64("swap"));
  }
  HULL_ASSIGN_OR_RETURN(auto cpu, o.object("cpu"));
  if (cpu) {
    HULL_ASSIGN_OR_RETURN(r.cpu_shares, cpu->u64("shares"));
    HULL_ASSIGN_OR_RETURN(r.cpu_quota, cpu->i64("quota"));
    HULL_ASSIGN_OR_RETURN(r.cpu_period, cpu->u64("period"));
    HULL_ASSIGN_OR_RETURN(r.cpuset_cpus, cpu->str("cpus"));
    HULL_ASSIGN_OR_RETURN(r.cpuset_mems, cpu->str("mems"));
  }
  HULL_ASSIGN_OR_RETURN(auto pids, o.object("pids"));
  if (pids) {
    HULL_ASSIGN_OR_RETURN(r.pids_limit, pids->i64("limit"));
  }
  HULL_ASSIGN_OR_RETURN(r.devices, o.objects<DeviceCgroupRule>("devices", deviceRuleFrom));
  HULL_ASSIGN_OR_RETURN(r.unified, o.stringMap("unified"));
  return r;
}

Result<SeccompArg> seccompArgFrom(const Obj& o) {
  SeccompArg a;
  HULL_ASSIGN_OR_RETURN(auto index, o.u32("index"));
  HULL_ASSIGN_OR_RETURN(auto value, o.u64("value"));
  HULL_ASSIGN_OR_RETURN(auto two, o.u64("valueTwo"));
  a.index = index.value_or(0);
  a.value = value.value_or(0);
  a.value_two = two.value_or(0);
  HULL_ASSIGN_OR_RETURN(a.op, o.str("op"));
  return a;
}

Result<SeccompSyscall> seccompSyscallFrom(const Obj& o) {
  SeccompSyscall s;
  HULL_ASSIGN_OR_RETURN(s.names, o.strings("names"));
  HULL_ASSIGN_OR_RETURN(s.action, o.str("action"));
  HULL_ASSIGN_OR_RETURN(s.errno_ret, o.u32("errnoRet"));
  HULL_ASSIGN_OR_RETURN(s.args, o.objects<SeccompArg>("args", seccompArgFrom));
  return s;
}

Result<Seccomp> seccompFrom(const Obj& o) {
  Seccomp s;
  HULL_ASSIGN_OR_RETURN(s.default_action, o.str("defaultAction"));
  HULL_ASSIGN_OR_RETURN(s.default_errno_ret, o.u32("defaultErrnoRet"));
  HULL_ASSIGN_OR_RETURN(s.architectures, o.strings("architectures"));
  HULL_ASSIGN_OR_RETURN(s.flags, o.strings("flags"));
  HULL_ASSIGN_OR_RETURN(s.syscalls, o.objects<SeccompSyscall>("syscalls", seccompSyscallFrom));
  return s;
}

Result<Namespace> namespaceFrom(const Obj& o) {
  Namespace n;
  HULL_ASSIGN_OR_RETURN(n.type, o.str("type"));
  if (n.type.empty()) return fail(Errc::kInvalidArgument, o.name("type") + ": missing");
  HULL_ASSIGN_OR_RETURN(n.path, o.str("path"));
  return n;
}

Result<Linux> linuxFrom(const Obj& o) {
  Linux l;
  HULL_ASSIGN_OR_RETURN(l.namespaces, o.objects<Namespace>("namespaces", namespaceFrom));
  HULL_ASSIGN_OR_RETURN(l.uid_mappings, o.objects<IdMapping>("uidMappings", idMappingFrom));
  HULL_ASSIGN_OR_RETURN(l.gid_mappings, o.objects<IdMapping>("gidMappings", idMappingFrom));
  HULL_ASSIGN_OR_RETURN(l.devices, o.objects<Device>("devices", deviceFrom));
  HULL_ASSIGN_OR_RETURN(l.cgroups_path, o.str("cgroupsPath"));
  HULL_ASSIGN_OR_RETURN(auto resources, o.object("resources"));
  if (resources) {
    HULL_ASSIGN_OR_RETURN(l.resources, resourcesFrom(*resources));
  }
  HULL_ASSIGN_OR_RETURN(l.sysctl, o.stringMap("sysctl"));
  HULL_ASSIGN_OR_RETURN(auto seccomp, o.object("seccomp"));
  if (seccomp) {
    HULL_ASSIGN_OR_RETURN(l.seccomp, seccompFrom(*seccomp));
  }
  HULL_ASSIGN_OR_RETURN(l.masked_paths, o.strings("maskedPaths"));
  HULL_ASSIGN_OR_RETURN(l.readonly_paths, o.strings("readonlyPaths"));
  HULL_ASSIGN_OR_RETURN(l.rootfs_propagation, o.str("rootfsPropagation"));
  HULL_ASSIGN_OR_RETURN(l.mount_label, o.str("mountLabel"));
  return l;
}

// ---- encoding ----

Json userJson(const User& u) {
  Json j = {{"uid", u.uid}, {"gid", u.gid}};
  if (u.umask) j["umask"] = *u.umask;
  if (!u.additional_gids.empty()) j["additionalGids"] = u.additional_gids;
  return j;
}

Json capabilitiesJson(const Capabilities& c) {
  Json j = Json::object();
  auto put = [&](const char* key, const std::vector<std::string>& v) {
    if (!v.empty()) j[key] = v;
  };
  put("bounding", c.bounding);
  put("effective", c.effective);
  put("inheritable", c.inheritable);
  put("permitted", c.permitted);
  put("ambient", c.ambient);
  return j;
}

Json hookListJson(const std::vector<Hook>& hooks) {
  Json a = Json::array();
  for (const auto& h : hooks) {
    Json j = {{"path", h.path}};
    if (!h.args.empty()) j["args"] = h.args;
    if (!h.env.empty()) j["env"] = h.env;
    if (h.timeout) j["timeout"] = *h.timeout;
    a.push_back(j);
  }
  return a;
}

Json hooksJson(const Hooks& h) {
  Json j = Json::object();
  auto put = [&](const char* key, const std::vector<Hook>& v) {
    if (!v.empty()) j[key] = hookListJson(v);
  };
  put("prestart", h.prestart);
  put("createRuntime", h.create_runtime);
  put("createContainer", h.create_container);
  put("startContainer", h.start_container);
  put("poststart", h.poststart);
  put("poststop", h.poststop);
  return j;
}

Json resourcesJson(const Resources& r) {
  Json j = Json::object();
  Json memory = Json::object();
  if (r.memory_limit) memory["limit"] = *r.memory_limit;
  if (r.memory_reservation) memory["reservation"] = *r.memory_reservation;
  if (r.memory_swap) memory["swap"] = *r.memory_swap;
  if (!memory.empty()) j["memory"] = memory;
  Json cpu = Json::object();
  if (r.cpu_shares) cpu["shares"] = *r.cpu_shares;
  if (r.cpu_quota) cpu["quota"] = *r.cpu_quota;
  if (r.cpu_period) cpu["period"] = *r.cpu_period;
  if (!r.cpuset_cpus.empty()) cpu["cpus"] = r.cpuset_cpus;
  if (!r.cpuset_mems.empty()) cpu["mems"] = r.cpuset_mems;
  if (!cpu.empty()) j["cpu"] = cpu;
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (!r.devices.empty()) {
    Json devices = Json::array();
    for (const auto& d : r.devices) {
      Json dj = {{"allow", d.allow}};
      if (!d.type.empty()) dj["type"] = d.type;
      if (d.major) dj["major"] = *d.major;
      if (d.minor) dj["minor"] = *d.minor;
      if (!d.access.empty()) dj["access"] = d.access;
      devices.push_back(dj);
    }
    j["devices"] = devices;
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j;
}

Json seccompJson(const Seccomp& s) {
  Json j = {{"defaultAction", s.default_action}};
  if (s.default_errno_ret) j["defaultErrnoRet"] = *s.default_errno_ret;
  if (!s.architectures.empty()) j["architectures"] = s.architectures;
  if (!s.flags.empty()) j["flags"] = s.flags;
  Json calls = Json::array();
  for (const auto& c : s.syscalls) {
    Json cj = {{"names", c.names}, {"action", c.action}};
    if (c.errno_ret) cj["errnoRet"] = *c.errno_ret;
    if (!c.args.empty()) {
      Json args = Json::array();
      for (const auto& a : c.args) {
        Json aj = {{"index", a.index}, {"value", a.value}, {"op", a.op}};
        if (a.value_two != 0) aj["valueTwo"] = a.value_two;
        args.push_back(aj);
      }
      cj["args"] = args;
    }
    calls.push_back(cj);
  }
  if (!calls.empty()) j["syscalls"] = calls;
  return j;
}

Json idMappingsJson(const std::vector<IdMapping>& maps) {
  Json a = Json::array();
  for (const auto& m : maps) {
    a.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  }
  return a;
}

Json devicesJson(const std::vector<Device>& devices) {
  Json a = Json::array();
  for (const auto& d : devices) {
    Json j = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
    if (d.file_mode) j["fileMode"] = *d.file_mode;
    if (d.uid) j["uid"] = *d.uid;
    if (d.gid) j["gid"] = *d.gid;
    a.push_back(j);
  }
  return a;
}

Json linuxJson(const Linux& l) {
  Json j = Json::object();
  Json ns = Json::array();
  for (const auto& n : l.namespaces) {
    Json nj = {{"type", n.type}};
    if (!n.path.empty()) nj["path"] = n.path;
    ns.push_back(nj);
  }
  j["namespaces"] = ns;
  if (!l.uid_mappings.empty()) j["uidMappings"] = idMappingsJson(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = idMappingsJson(l.gid_mappings);
  if (!l.devices.empty()) j["devices"] = devicesJson(l.devices);
  if (!l.cgroups_path.empty()) j["cgroupsPath"] = l.cgroups_path;
  if (l.resources) j["resources"] = resourcesJson(*l.resources);
  if (!l.sysctl.empty()) j["sysctl"] = l.sysctl;
  if (l.seccomp) j["seccomp"] = seccompJson(*l.seccomp);
  if (!l.masked_paths.empty()) j["maskedPaths"] = l.masked_paths;
  if (!l.readonly_paths.empty()) j["readonlyPaths"] = l.readonly_paths;
  if (!l.rootfs_propagation.empty()) j["rootfsPropagation"] = l.rootfs_propagation;
  if (!l.mount_label.empty()) j["mountLabel"] = l.mount_label;
  return j;
}

}  // namespace

Json toJson(const Process& p) {
  Json j = {{"terminal", p.terminal}, {"user", userJson(p.user)}, {"args", p.args}};
  if (p.console_size) {
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  }
  if (!p.env.empty()) j["env"] = p.env;
  j["cwd"] = p.cwd;
  if (p.capabilities) j["capabilities"] = capabilitiesJson(*p.capabilities);
  if (!p.rlimits.empty()) {
    Json rl = Json::array();
    for (const auto& r : p.rlimits)
      rl.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    j["rlimits"] = rl;
  }
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  if (!p.apparmor_profile.empty()) j["apparmorProfile"] = p.apparmor_profile;
  if (p.oom_score_adj) j["oomScoreAdj"] = *p.oom_score_adj;
  return j;
}

Json toJson(const RuntimeSpec& spec) {
  Json j = {{"ociVersion", spec.oci_version}};
  if (spec.process) j["process"] = toJson(*spec.process);
  j["root"] = {{"path", spec.root.path}};
  if (spec.root.readonly) j["root"]["readonly"] = true;
  if (!spec.hostname.empty()) j["hostname"] = spec.hostname;
  Json mounts = Json::array();
  for (const auto& m : spec.mounts) {
    Json mj = {{"destination", m.destination}};
    if (!m.type.empty()) mj["type"] = m.type;
    if (!m.source.empty()) mj["source"] = m.source;
    if (!m.options.empty()) mj["options"] = m.options;
    mounts.push_back(mj);
  }
  j["mounts"] = mounts;
  if (spec.hooks) j["hooks"] = hooksJson(*spec.hooks);
  if (!spec.annotations.empty()) j["annotations"] = spec.annotations;
  if (spec.linux) j["linux"] = linuxJson(*spec.linux);
  return j;
}

Result<Process> processFromJson(const Json& j) {
  HULL_ASSIGN_OR_RETURN(Obj o, Obj::of(j, "process"));
  return processFrom(o);
}

Result<RuntimeSpec> runtimeSpecFromJson(const Json& j) {
  HULL_ASSIGN_OR_RETURN(Obj o, Obj::of(j, ""));
  RuntimeSpec spec;
  HULL_ASSIGN_OR_RETURN(spec.oci_version, o.str("ociVersion"));
  if (spec.oci_version.empty()) return fail(Errc::kInvalidArgument, "ociVersion: missing");
  HULL_ASSIGN_OR_RETURN(auto process, o.object("process"));
  if (process) {
    HULL_ASSIGN_OR_RETURN(spec.process, processFrom(*process));
  }
  HULL_ASSIGN_OR_RETURN(auto root, o.object("root"));
  if (root) {
    HULL_ASSIGN_OR_RETURN(spec.root.path, root->str("path"));
    HULL_ASSIGN_OR_RETURN(spec.root.readonly, root->boolean("readonly"));
  }
  HULL_ASSIGN_OR_RETURN(spec.hostname, o.str("hostname"));
  HULL_ASSIGN_OR_RETURN(spec.mounts, o.objects<Mount>("mounts", mountFrom));
  HULL_ASSIGN_OR_RETURN(auto hooks, o.object("hooks"));
  if (hooks) {
    HULL_ASSIGN_OR_RETURN(spec.hooks, hooksFrom(*hooks));
  }
  HULL_ASSIGN_OR_RETURN(spec.annotations, o.stringMap("annotations"));
  HULL_ASSIGN_OR_RETURN(auto linux, o.object("linux"));
  if (linux) {
    HULL_ASSIGN_OR_RETURN(spec.linux, linuxFrom(*linux));
  }
  return spec;
}

Result<RuntimeSpec> parseRuntimeSpec(std::string_view bytes) {
  if (bytes.size() > kMaxSpecBytes) {
    return fail(Errc::kInvalidArgument, "config.json: larger than 16 MiB");
  }
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(bytes, "config.json"));
  auto spec = runtimeSpecFromJson(j);
  if (!spec) return fail(spec.error().wrap("config.json"));
  return spec;
}

Result<Process> parseProcess(std::string_view bytes) {
  if (bytes.size() > kMaxSpecBytes) {
    return fail(Errc::kInvalidArgument, "process.json: larger than 16 MiB");
  }
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(bytes, "process.json"));
  auto process = processFromJson(j);
  if (!process) return fail(process.error().wrap("process.json"));
  return process;
}

std::string serialize(const RuntimeSpec& spec) { return toJson(spec).dump(2) + "\n"; }

}  // namespace hull::oci
