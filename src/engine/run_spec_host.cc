// What planning learns from the host (HostEnvironment::real), --env-file parsing, and the /etc
// files a container gets from its container dir.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "engine/containers.h"
#include "engine/run_spec_internal.h"

namespace hull::engine {

namespace {

constexpr std::size_t kMaxHostFile = 4u << 20;  // env files, label files, seccomp profiles

bool validUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

bool isLoopbackNameserver(std::string_view line) {
  std::string_view rest = line;
  if (!rest.starts_with("nameserver")) return false;
  rest.remove_prefix(10);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return rest.starts_with("127.") || rest.starts_with("::1");
}

std::string resolvConfFor(const ContainerPlan& plan, const HostEnvironment& host) {
  std::string host_conf = host.resolv_conf ? host.resolv_conf().value_or("") : "";
  bool none = false;
  for (const auto& ns :
       plan.spec.linux ? plan.spec.linux->namespaces : std::vector<oci::Namespace>{}) {
    if (ns.type == "network") none = true;
  }
  if (!none) return host_conf;
  // No network: a loopback resolver of the host is not reachable from here.
  std::string out;
  for (const std::string& line : detail::splitList(host_conf, '\n')) {
    if (!isLoopbackNameserver(line)) out += line + "\n";
  }
  return out;
}

}  // namespace

HostEnvironment HostEnvironment::real() {
  HostEnvironment h;
  h.getenv = [](const std::string& key) -> std::optional<std::string> {
    const char* v = ::getenv(key.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  h.read_file = [](const std::string& path) { return readFile(path, kMaxHostFile); };
  h.path_exists = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  };
  h.hard_rlimit = [](int resource) -> uint64_t {
    rlimit limit{};
    if (::getrlimit(resource, &limit) != 0) return RLIM_INFINITY;
    return limit.rlim_max;
  };
  h.resolv_conf = []() -> std::optional<std::string> {
    auto text = readFile("/etc/resolv.conf", kMaxHostFile);
    if (!text) return std::nullopt;
    return *text;
  };
  h.devices = detail::hostDevicesAt;
  utsname uts{};
  if (::uname(&uts) == 0 &&
      std::sscanf(uts.release, "%d.%d", &h.kernel.major, &h.kernel.minor) != 2) {
    h.kernel = oci::KernelVersion{.major = 5, .minor = 6};
  }
  return h;
}

Result<std::vector<std::string>> parseEnvFile(std::string_view text, std::string_view file,
                                              const HostEnvironment& host) {
  std::vector<std::string> out;
  int number = 0;
  for (std::string_view rest = text; !rest.empty();) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++number;
    auto bad = [&](std::string_view why) {
      return fail(Errc::kInvalidArgument, fmt::format("{}:{}: {}", file, number, why));
    };
    if (!validUtf8(line)) return bad("invalid UTF-8");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t eq = line.find('=');
    std::string_view key = line.substr(0, eq);
    if (key.empty()) return bad(fmt::format("no variable name in '{}'", line));
    if (eq == std::string_view::npos) {
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    }
    if (key.find_first_of(" \t\n\v\f") != std::string_view::npos) {
      return bad(fmt::format("variable '{}' contains whitespaces", key));
    }
    if (eq != std::string_view::npos) {
      out.emplace_back(line);
    } else if (auto value = host.getenv(std::string(key))) {
      out.push_back(fmt::format("{}={}", key, *value));
    }
  }
  return out;
}

// Not fsynced: the files exist for a container that is about to start, and one that outlives a
// crash never starts again (hull has no restart yet; a restart must write them anew).
Result<void> writeEtcFiles(const ContainerPlan& plan, const fs::path& container_dir,
                           const HostEnvironment& host) {
  const std::string& name = plan.hostname;
  HULL_TRY(replaceFile(container_dir / "hostname", name + "\n", 0644, false));
  std::string hosts = fmt::format(
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n"
      "127.0.0.1\t{}\n",
      name);
  HULL_TRY(replaceFile(container_dir / "hosts", hosts, 0644, false));
  HULL_TRY(replaceFile(container_dir / "resolv.conf", resolvConfFor(plan, host), 0644, false));
  return {};
}

}  // namespace hull::engine
