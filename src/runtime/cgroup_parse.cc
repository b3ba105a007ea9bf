// The pure half of cgroups: reading the layout from mountinfo text, and Docker's units for
// --memory and --cpus. Nothing here touches the system except hostCpuCount().
#include <sched.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "runtime/cgroup.h"

namespace hull::runtime {
namespace {

// v1 controllers the kernel may offer. Anything else in a v1 mount's super options is a mount
// flag ("rw", "clone_children") or a named hierarchy ("name=systemd"), which limits nothing.
constexpr std::array<std::string_view, 14> kV1Controllers = {
    "cpu",      "cpuacct", "cpuset",     "memory",  "devices", "freezer", "net_cls",
    "net_prio", "blkio",   "perf_event", "hugetlb", "pids",    "rdma",    "misc"};

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string unescapeMountField(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = field[i + k];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

struct MountLine {
  std::string root;
  std::string mount_point;
  std::string fstype;
  std::string super_options;
};

// One line: "id parent maj:min root mountpoint options [optional...] - fstype source superopts".
std::optional<MountLine> parseMountLine(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::string_view f : split(line, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  size_t dash = 0;
  for (size_t i = 6; i < fields.size(); ++i) {
    if (fields[i] == "-") {
      dash = i;
      break;
    }
  }
  if (dash == 0 || dash + 3 >= fields.size()) return std::nullopt;
  return MountLine{.root = unescapeMountField(fields[3]),
                   .mount_point = unescapeMountField(fields[4]),
                   .fstype = std::string(fields[dash + 1]),
                   .super_options = std::string(fields[dash + 3])};
}

bool isV1Controller(std::string_view name) {
  for (std::string_view c : kV1Controllers) {
    if (c == name) return true;
  }
  return false;
}

}  // namespace

Result<CgroupSystem> CgroupSystem::fromMountinfo(std::string_view mountinfo) {
  CgroupSystem system;
  bool have_unified = false;
  for (std::string_view line : split(mountinfo, '\n')) {
    if (line.empty()) continue;
    std::optional<MountLine> m = parseMountLine(line);
    if (!m) return fail(Errc::kCorrupt, "mountinfo: malformed line: " + std::string(line));
    if (m->fstype == "cgroup2") {
      // The first cgroup2 mount wins; later ones are usually bind mounts of the same tree.
      if (!have_unified) system.unified = m->mount_point;
      have_unified = true;
    } else if (m->fstype == "cgroup") {
      for (std::string_view opt : split(m->super_options, ',')) {
        if (isV1Controller(opt) && !system.controllers.count(std::string(opt))) {
          system.controllers.emplace(std::string(opt), m->mount_point);
        }
      }
    }
  }
  if (!have_unified && system.controllers.empty()) {
    return fail(Errc::kUnsupported, "no cgroup file system is mounted (see /proc/self/mountinfo)");
  }
  if (system.controllers.empty()) {
    system.layout = CgroupLayout::kUnified;
  } else {
    system.layout = have_unified ? CgroupLayout::kHybrid : CgroupLayout::kLegacy;
  }
  return system;
}

Result<CgroupSystem> CgroupSystem::detect() {
  HULL_ASSIGN_OR_RETURN(std::string text, readFile("/proc/self/mountinfo", 16u << 20));
  return fromMountinfo(text);
}

std::vector<std::filesystem::path> CgroupSystem::hierarchies() const {
  std::vector<std::filesystem::path> out;
  std::set<std::filesystem::path> seen;
  // Co-mounted controllers ("cpu,cpuacct") share one directory tree: each tree once.
  for (const auto& [name, mount] : controllers) {
    if (seen.insert(mount).second) out.push_back(mount);
  }
  if (!unified.empty()) out.push_back(unified);
  return out;
}

Result<int64_t> parseByteSize(std::string_view text) {
  // Docker's units.RAMInBytes: digits[.digits] [space] [kmgtp][i][b], case-insensitive.
  std::string_view s = text;
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, "invalid size \"" + std::string(text) +
                                            "\": " + std::string(why) +
                                            " (use a number with an optional unit b, k, m, g, t)");
  };
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return bad(s.starts_with('-') ? "a size cannot be negative" : "no number");
  std::string_view whole = s.substr(0, i);
  std::string_view frac;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    frac = s.substr(i + 1, j - i - 1);
    if (frac.empty()) return bad("no digits after the decimal point");
    i = j;
  }
  if (i < s.size() && s[i] == ' ') ++i;
  int shift = 0;
  if (i < s.size()) {
    switch (s[i] | 0x20) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      case 't':
        shift = 40;
        break;
      case 'p':
        shift = 50;
        break;
      default:
        break;
    }
    if (shift != 0) ++i;
  }
  if (shift != 0 && i < s.size() && (s[i] | 0x20) == 'i') ++i;
  if (i < s.size() && (s[i] | 0x20) == 'b') ++i;
  if (i != s.size()) return bad("unknown unit");

  int64_t value = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), value);
  if (ec != std::errc() || p != whole.data() + whole.size()) return bad("too large");
  if (__builtin_mul_overflow(value, int64_t{1} << shift, &value)) return bad("too large");
  // The fraction, to the byte: digits * 2^shift / 10^n, truncated, from at most 18 digits.
  if (!frac.empty() && shift != 0) {
    frac = frac.substr(0, 18);
    uint64_t digits = 0;
    uint64_t scale = 1;
    for (char c : frac) {
      digits = digits * 10 + static_cast<uint64_t>(c - '0');
      scale *= 10;
    }
    unsigned __int128 part = (static_cast<unsigned __int128>(digits) << shift) / scale;
    if (__builtin_add_overflow(value, static_cast<int64_t>(part), &value)) return bad("too large");
  }
  return value;
}

int hostCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

Result<std::pair<int64_t, uint64_t>> parseCpus(std::string_view text) {
  return parseCpus(text, hostCpuCount());
}

Result<std::pair<int64_t, uint64_t>> parseCpus(std::string_view text, int host_cpus) {
  constexpr uint64_t kPeriod = 100000;  // microseconds, as Docker
  auto range = [&] {
    return fail(Errc::kInvalidArgument, "invalid --cpus \"" + std::string(text) +
                                            "\": the range of CPUs is from 0.01 to " +
                                            std::to_string(host_cpus) + ".00, as there are only " +
                                            std::to_string(host_cpus) + " CPUs available");
  };
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digitsOnly = [](std::string_view s) {
    return s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (text.empty() || (whole.empty() && frac.empty()) || !digitsOnly(whole) || !digitsOnly(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return fail(Errc::kInvalidArgument,
                "invalid --cpus \"" + std::string(text) + "\": expected a number such as 1.5");
  }
  if (whole.size() > 6) return range();
  // Work in millionths of a CPU; digits beyond that cannot change the microsecond quota.
  uint64_t micro = 0;
  for (char c : whole) micro = micro * 10 + static_cast<uint64_t>(c - '0');
  micro *= 1000000;
  uint64_t scale = 100000;
  for (char c : frac.substr(0, 6)) {
    micro += static_cast<uint64_t>(c - '0') * scale;
    scale /= 10;
  }
  if (micro < 10000 || micro > static_cast<uint64_t>(host_cpus) * 1000000) return range();
  return std::pair<int64_t, uint64_t>{static_cast<int64_t>(micro * kPeriod / 1000000), kPeriod};
}

}  // namespace hull::runtime
