// CDI spec files: reading JSON or YAML into a CdiSpec, checking it against the spec's rules, and
// loading the spec directories. YAML is turned into the same JSON tree first, so both formats
// share one decoder and one set of error messages.
#include "gpu/cdi.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <yaml-cpp/yaml.h>

#include "base/fs.h"
#include "base/json.h"  // Json

namespace hull::gpu {
namespace {

constexpr std::size_t kMaxSpecBytes = 4u << 20;
constexpr int kMaxDepth = 64;
// Aliases can make a small YAML document expand to a huge tree ("billion laughs").
constexpr std::size_t kMaxNodes = 1u << 20;

constexpr std::array<std::string_view, 8> kVersions = {"0.3.0", "0.4.0", "0.5.0", "0.6.0",
                                                       "0.7.0", "0.8.0", "1.0.0", "1.1.0"};

int versionRank(std::string_view v) {
  auto it = std::find(kVersions.begin(), kVersions.end(), v);
  return it == kVersions.end() ? -1 : static_cast<int>(it - kVersions.begin());
}

std::string knownVersions() {
  std::string out;
  for (std::string_view v : kVersions) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

bool isLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isAlnum(char c) { return isLetter(c) || (c >= '0' && c <= '9'); }

// The CDI name rules: vendor and class start with a letter; device names with a letter or digit
// and may hold ':'; all end with a letter or digit and hold only [A-Za-z0-9_.-] between.
std::string nameProblem(std::string_view name, bool device) {
  if (name.empty()) return "empty";
  if (device ? !isAlnum(name.front()) : !isLetter(name.front())) {
    return device ? "must start with a letter or digit" : "must start with a letter";
  }
  for (char c : name.substr(1)) {
    if (!isAlnum(c) && c != '_' && c != '-' && c != '.' && !(device && c == ':')) {
      return "invalid character '" + std::string(1, c) + "'";
    }
  }
  if (!isAlnum(name.back())) return "must end with a letter or digit";
  return {};
}

// kind "vendor/class": the problem, or "".
std::string kindProblem(std::string_view kind) {
  size_t slash = kind.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == kind.size()) {
    return "\"" + std::string(kind) + "\" is not vendor/class (like vendor.com/device)";
  }
  std::string_view vendor = kind.substr(0, slash), cls = kind.substr(slash + 1);
  if (std::string p = nameProblem(vendor, false); !p.empty()) {
    return "invalid vendor \"" + std::string(vendor) + "\": " + p;
  }
  if (std::string p = nameProblem(cls, false); !p.empty()) {
    return "invalid class \"" + std::string(cls) + "\": " + p;
  }
  return {};
}

// ---- YAML -> JSON tree ----------------------------------------------------------------------

// Every YAML scalar becomes a JSON string (plain null, ~ and empty become null): the decoder
// reads numbers out of strings for YAML input, so `name: 0` stays the string "0".
struct YamlConverter {
  std::size_t nodes = 0;
  std::string problem;

  bool convert(const YAML::Node& node, int depth, Json& out) {
    if (++nodes > kMaxNodes) return failWith("more than 1048576 nodes");
    if (depth > kMaxDepth) return failWith("nested deeper than 64 levels");
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        out = nullptr;
        return true;
      case YAML::NodeType::Scalar:
        out = node.Scalar();
        return true;
      case YAML::NodeType::Sequence:
        out = Json::array();
        for (const YAML::Node& item : node) {
          Json j;
          if (!convert(item, depth + 1, j)) return false;
          out.push_back(std::move(j));
        }
        return true;
      case YAML::NodeType::Map:
        out = Json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) return failWith("a mapping key is not a scalar");
          const std::string& key = kv.first.Scalar();
          if (out.contains(key)) return failWith("duplicate key \"" + key + "\"");
          Json j;
          if (!convert(kv.second, depth + 1, j)) return false;
          out[key] = std::move(j);
        }
        return true;
    }
    return failWith("unknown node type");
  }
  bool failWith(std::string p) {
    problem = std::move(p);
    return false;
  }
};

Result<Json> parseYamlTree(std::string_view text, std::string_view file) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    YamlConverter conv;
    Json out;
    if (!conv.convert(root, 0, out)) {
      return fail(Errc::kInvalidArgument, std::string(file) + ": invalid YAML: " + conv.problem);
    }
    return out;
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? "" : " at line " + std::to_string(e.mark.line + 1);
    return fail(Errc::kInvalidArgument,
                std::string(file) + ": invalid YAML" + where + ": " + e.msg);
  } catch (const std::exception& e) {
    return fail(Errc::kInvalidArgument, std::string(file) + ": invalid YAML: " + e.what());
  }
}

// nlohmann's own parser, for its line and column: "at line 2, column 0: syntax error ...".
Result<Json> parseJsonTree(std::string_view text, std::string_view file) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    size_t at = what.find("parse error ");
    what = at == std::string::npos ? what : what.substr(at + 12);
    return fail(Errc::kInvalidArgument, std::string(file) + ": invalid JSON " + what);
  } catch (const std::exception& e) {
    return fail(Errc::kInvalidArgument, std::string(file) + ": invalid JSON: " + e.what());
  }
}

// JSON nesting, counted before parsing so a hostile document never reaches the tree builder.
bool jsonTooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// ---- decoding -------------------------------------------------------------------------------

// Reads typed fields out of the tree; the first problem wins and names its field path.
class Decoder {
 public:
  Decoder(std::string_view file, bool yaml) : file_(file), yaml_(yaml) {}

  bool ok() const { return problem_.empty(); }
  Error error() const { return Error{Errc::kInvalidArgument, problem_}; }

  void fail(const std::string& path, const std::string& problem) {
    if (problem_.empty()) problem_ = file_ + ": " + path + ": " + problem;
  }

  // nullptr when absent or null.
  const Json* field(const Json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::string str(const Json& obj, const char* key, const std::string& path) {
    const Json* j = field(obj, key);
    if (!j) return {};
    if (!j->is_string()) {
      fail(path, "must be a string");
      return {};
    }
    return j->get<std::string>();
  }

  std::vector<std::string> strings(const Json& obj, const char* key, const std::string& path) {
    std::vector<std::string> out;
    const Json* j = field(obj, key);
    if (!j) return out;
    if (!j->is_array()) {
      fail(path, "must be a list of strings");
      return out;
    }
    for (size_t i = 0; i < j->size(); ++i) {
      if (!(*j)[i].is_string()) {
        fail(path + "[" + std::to_string(i) + "]", "must be a string");
        return out;
      }
      out.push_back((*j)[i].get<std::string>());
    }
    return out;
  }

  std::map<std::string, std::string> stringMap(const Json& obj, const char* key,
                                               const std::string& path) {
    std::map<std::string, std::string> out;
    const Json* j = field(obj, key);
    if (!j) return out;
    if (!j->is_object()) {
      fail(path, "must be a map of strings");
      return out;
    }
    for (const auto& [k, v] : j->items()) {
      if (!v.is_string()) {
        fail(path + "." + k, "must be a string");
        return out;
      }
      out[k] = v.get<std::string>();
    }
    return out;
  }

  std::optional<int64_t> integer(const Json& j, const std::string& path, int64_t lo, int64_t hi) {
    int64_t v = 0;
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      v = j.get<int64_t>();
    } else if (j.is_number_unsigned()) {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi)) return outOfRange(path, lo, hi);
      v = static_cast<int64_t>(u);
    } else if (yaml_ && j.is_string()) {
      auto parsed = parseYamlInt(j.get<std::string>());
      if (!parsed) {
        fail(path, "must be an integer");
        return std::nullopt;
      }
      v = *parsed;
    } else {
      fail(path, "must be an integer");
      return std::nullopt;
    }
    if (v < lo || v > hi) return outOfRange(path, lo, hi);
    return v;
  }

  std::optional<int64_t> optInteger(const Json& obj, const char* key, const std::string& path,
                                    int64_t lo, int64_t hi) {
    const Json* j = field(obj, key);
    if (!j) return std::nullopt;
    return integer(*j, path, lo, hi);
  }

  // Iterates an optional list of objects.
  template <class F>
  void objects(const Json& obj, const char* key, const std::string& path, F each) {
    const Json* j = field(obj, key);
    if (!j) return;
    if (!j->is_array()) return fail(path, "must be a list");
    for (size_t i = 0; i < j->size() && ok(); ++i) {
      std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!(*j)[i].is_object()) return fail(item_path, "must be an object");
      each((*j)[i], item_path);
    }
  }

 private:
  std::nullopt_t outOfRange(const std::string& path, int64_t lo, int64_t hi) {
    fail(path, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
    return std::nullopt;
  }

  // YAML 1.1 integers as Go's YAML readers take them: decimal, 0x hex, 0o or leading-0 octal.
  static std::optional<int64_t> parseYamlInt(const std::string& s) {
    if (s.empty()) return std::nullopt;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    int base = 10;
    if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
      base = 16, i += 2;
    } else if (s.size() > i + 2 && s[i] == '0' && s[i + 1] == 'o') {
      base = 8, i += 2;
    } else if (s.size() > i + 1 && s[i] == '0') {
      base = 8, i += 1;
    }
    if (i >= s.size()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str() + i, &end, base);
    if (errno != 0 || *end != '\0' || !std::isalnum(static_cast<unsigned char>(s[i]))) {
      return std::nullopt;
    }
    return s[0] == '-' ? -v : v;
  }

  std::string file_;
  bool yaml_;
  std::string problem_;
};

bool isAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

void checkEnv(Decoder& d, const std::vector<std::string>& env, const std::string& path) {
  for (size_t i = 0; i < env.size(); ++i) {
    size_t eq = env[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      d.fail(path + "[" + std::to_string(i) + "]", "\"" + env[i] + "\" is not KEY=VALUE");
    }
  }
}

void requireAbsolute(Decoder& d, const std::string& value, const std::string& path, bool required) {
  if (value.empty()) {
    if (required) d.fail(path, "missing");
  } else if (!isAbsolute(value)) {
    d.fail(path, "must be absolute");
  }
}

CdiDeviceNode decodeDeviceNode(Decoder& d, const Json& j, const std::string& p) {
  CdiDeviceNode n;
  n.path = d.str(j, "path", p + ".path");
  requireAbsolute(d, n.path, p + ".path", true);
  n.host_path = d.str(j, "hostPath", p + ".hostPath");
  requireAbsolute(d, n.host_path, p + ".hostPath", false);
  n.type = d.str(j, "type", p + ".type");
  if (!n.type.empty() && n.type != "c" && n.type != "b" && n.type != "u" && n.type != "p") {
    d.fail(p + ".type", "invalid \"" + n.type + "\" (want c, b, u or p)");
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  n.major = d.optInteger(j, "major", p + ".major", 0, kMax);
  n.minor = d.optInteger(j, "minor", p + ".minor", 0, kMax);
  if (auto m = d.optInteger(j, "fileMode", p + ".fileMode", 0, 0xffffffff)) n.file_mode = *m;
  n.permissions = d.str(j, "permissions", p + ".permissions");
  if (n.permissions != "none" && n.permissions.find_first_not_of("rwm") != std::string::npos) {
    d.fail(p + ".permissions", "invalid \"" + n.permissions + "\" (want r, w and m, or none)");
  }
  if (auto v = d.optInteger(j, "uid", p + ".uid", 0, 0xffffffff)) n.uid = *v;
  if (auto v = d.optInteger(j, "gid", p + ".gid", 0, 0xffffffff)) n.gid = *v;
  return n;
}

CdiMount decodeMount(Decoder& d, const Json& j, const std::string& p) {
  CdiMount m;
  m.host_path = d.str(j, "hostPath", p + ".hostPath");
  m.container_path = d.str(j, "containerPath", p + ".containerPath");
  m.type = d.str(j, "type", p + ".type");
  m.options = d.strings(j, "options", p + ".options");
  // A bind mount's source is a host path; other types (tmpfs) name a device or nothing.
  if (m.type.empty() || m.type == "bind") {
    requireAbsolute(d, m.host_path, p + ".hostPath", true);
  } else if (m.host_path.empty()) {
    d.fail(p + ".hostPath", "missing");
  }
  requireAbsolute(d, m.container_path, p + ".containerPath", true);
  return m;
}

constexpr std::array<std::string_view, 6> kHookNames = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};

CdiHook decodeHook(Decoder& d, const Json& j, const std::string& p) {
  CdiHook h;
  h.hook_name = d.str(j, "hookName", p + ".hookName");
  if (h.hook_name.empty()) {
    d.fail(p + ".hookName", "missing");
  } else if (std::find(kHookNames.begin(), kHookNames.end(), h.hook_name) == kHookNames.end()) {
    d.fail(p + ".hookName",
           "unknown hook \"" + h.hook_name +
               "\" (want prestart, createRuntime, createContainer, startContainer, poststart or "
               "poststop)");
  }
  h.path = d.str(j, "path", p + ".path");
  requireAbsolute(d, h.path, p + ".path", true);
  h.args = d.strings(j, "args", p + ".args");
  h.env = d.strings(j, "env", p + ".env");
  checkEnv(d, h.env, p + ".env");
  if (auto t = d.optInteger(j, "timeout", p + ".timeout", std::numeric_limits<int>::min(),
                            std::numeric_limits<int>::max())) {
    if (*t <= 0) d.fail(p + ".timeout", "must be greater than zero");
    h.timeout = static_cast<int>(*t);
  }
  return h;
}

CdiEdits decodeEdits(Decoder& d, const Json& j, const std::string& p) {
  CdiEdits e;
  e.env = d.strings(j, "env", p + ".env");
  checkEnv(d, e.env, p + ".env");
  d.objects(j, "deviceNodes", p + ".deviceNodes", [&](const Json& o, const std::string& ip) {
    e.device_nodes.push_back(decodeDeviceNode(d, o, ip));
  });
  d.objects(j, "mounts", p + ".mounts", [&](const Json& o, const std::string& ip) {
    e.mounts.push_back(decodeMount(d, o, ip));
  });
  d.objects(j, "hooks", p + ".hooks",
            [&](const Json& o, const std::string& ip) { e.hooks.push_back(decodeHook(d, o, ip)); });
  if (const Json* gids = d.field(j, "additionalGids")) {
    if (!gids->is_array()) {
      d.fail(p + ".additionalGids", "must be a list of integers");
    } else {
      for (size_t i = 0; i < gids->size() && d.ok(); ++i) {
        auto g =
            d.integer((*gids)[i], p + ".additionalGids[" + std::to_string(i) + "]", 0, 0xffffffff);
        if (g) e.additional_gids.push_back(static_cast<uint32_t>(*g));
      }
    }
  }
  // Edits hull cannot make: refusing the spec beats giving a device without them.
  for (const char* key : {"netDevices", "intelRdt"}) {
    const Json* x = d.field(j, key);
    if (x && !x->empty()) d.fail(p + "." + key, "not supported by hull");
  }
  return e;
}

bool editsEmpty(const CdiEdits& e) {
  return e.env.empty() && e.device_nodes.empty() && e.mounts.empty() && e.hooks.empty() &&
         e.additional_gids.empty();
}

void decodeDevices(Decoder& d, const Json& root, CdiSpec& spec) {
  const Json* devices = d.field(root, "devices");
  if (!devices || (devices->is_array() && devices->empty())) {
    return d.fail("devices", "at least one device is required");
  }
  d.objects(root, "devices", "devices", [&](const Json& o, const std::string& p) {
    CdiDevice dev;
    dev.name = d.str(o, "name", p + ".name");
    if (dev.name.empty()) return d.fail(p + ".name", "missing");
    if (std::string problem = nameProblem(dev.name, true); !problem.empty()) {
      return d.fail(p + ".name", "invalid device name \"" + dev.name + "\": " + problem);
    }
    for (const CdiDevice& other : spec.devices) {
      if (other.name == dev.name)
        return d.fail(p + ".name", "duplicate device \"" + dev.name + "\"");
    }
    dev.annotations = d.stringMap(o, "annotations", p + ".annotations");
    const Json* edits = d.field(o, "containerEdits");
    if (!edits) return d.fail(p + ".containerEdits", "missing");
    if (!edits->is_object()) return d.fail(p + ".containerEdits", "must be an object");
    dev.edits = decodeEdits(d, *edits, p + ".containerEdits");
    if (d.ok() && editsEmpty(dev.edits)) d.fail(p + ".containerEdits", "must not be empty");
    spec.devices.push_back(std::move(dev));
  });
}

// cdiVersion: known (checked first, as a reader of an unknown version knows nothing else), and
// new enough for the fields the spec uses (checked last).
void checkVersionKnown(Decoder& d, const CdiSpec& spec) {
  if (spec.version.empty()) return d.fail("cdiVersion", "missing");
  if (versionRank(spec.version) < 0) {
    d.fail("cdiVersion",
           "unknown version \"" + spec.version + "\" (known: " + knownVersions() + ")");
  }
}

void checkVersionNewEnough(Decoder& d, const CdiSpec& spec) {
  std::string needed = minimumCdiVersion(spec);
  if (versionRank(needed) > versionRank(spec.version)) {
    d.fail("cdiVersion", spec.version + " is too old for the fields this spec uses (needs " +
                             needed + " or later)");
  }
}

Result<CdiSpec> decodeSpec(const Json& root, std::string_view file, bool yaml) {
  Decoder d(file, yaml);
  if (!root.is_object()) {
    return fail(Errc::kInvalidArgument,
                std::string(file) + ": not a CDI spec: the document must be a mapping");
  }
  CdiSpec spec;
  spec.file = std::string(file);
  spec.version = d.str(root, "cdiVersion", "cdiVersion");
  if (d.ok()) checkVersionKnown(d, spec);
  spec.kind = d.str(root, "kind", "kind");
  if (d.ok() && spec.kind.empty()) d.fail("kind", "missing");
  if (std::string p = kindProblem(spec.kind); d.ok() && !p.empty()) d.fail("kind", p);
  spec.annotations = d.stringMap(root, "annotations", "annotations");
  if (const Json* edits = d.field(root, "containerEdits"); edits && d.ok()) {
    if (!edits->is_object()) {
      d.fail("containerEdits", "must be an object");
    } else {
      spec.edits = decodeEdits(d, *edits, "containerEdits");
    }
  }
  if (d.ok()) decodeDevices(d, root, spec);
  if (d.ok()) checkVersionNewEnough(d, spec);
  if (!d.ok()) return fail(d.error());
  return spec;
}

bool hasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The kind a broken file declares, when it can be read at all: lets a lookup of one of its
// devices report why the file was refused.
std::string kindHint(std::string_view text, std::string_view file) {
  size_t first = text.find_first_not_of(" \t\r\n");
  bool json = first != std::string_view::npos && text[first] == '{';
  if (json && jsonTooDeep(text)) return {};
  Result<Json> tree = json ? parseJsonTree(text, file) : parseYamlTree(text, file);
  if (!tree || !tree->is_object()) return {};
  auto it = tree->find("kind");
  return it != tree->end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> specFilesIn(const std::string& dir, std::vector<Error>& errors) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (!d) {
    if (errno != ENOENT) errors.push_back(failErrno("CDI spec directory " + dir).value());
    return files;
  }
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (!hasSuffix(name, ".json") && !hasSuffix(name, ".yaml") && !hasSuffix(name, ".yml")) {
      continue;
    }
    std::string path = dir + (hasSuffix(dir, "/") ? "" : "/") + name;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(std::move(path));
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

bool isCdiDeviceName(std::string_view name) {
  size_t eq = name.find('=');
  if (eq == std::string_view::npos) return false;
  return kindProblem(name.substr(0, eq)).empty() && nameProblem(name.substr(eq + 1), true).empty();
}

std::string minimumCdiVersion(const CdiSpec& spec) {
  std::vector<const CdiEdits*> edits = {&spec.edits};
  for (const CdiDevice& d : spec.devices) edits.push_back(&d.edits);
  auto any = [&](auto pred) { return std::any_of(edits.begin(), edits.end(), pred); };
  bool annotations = !spec.annotations.empty() ||
                     std::any_of(spec.devices.begin(), spec.devices.end(),
                                 [](const CdiDevice& d) { return !d.annotations.empty(); });
  size_t slash = spec.kind.find('/');
  bool dotted_class = slash != std::string::npos && spec.kind.find('.', slash) != std::string::npos;
  if (any([](const CdiEdits* e) { return !e->additional_gids.empty(); })) return "0.7.0";
  if (annotations || dotted_class) return "0.6.0";
  bool host_path = any([](const CdiEdits* e) {
    return std::any_of(e->device_nodes.begin(), e->device_nodes.end(),
                       [](const CdiDeviceNode& n) { return !n.host_path.empty(); });
  });
  bool digit_name = std::any_of(spec.devices.begin(), spec.devices.end(), [](const CdiDevice& d) {
    return !d.name.empty() && !isLetter(d.name[0]);
  });
  if (host_path || digit_name) return "0.5.0";
  if (any([](const CdiEdits* e) {
        return std::any_of(e->mounts.begin(), e->mounts.end(),
                           [](const CdiMount& m) { return !m.type.empty(); });
      })) {
    return "0.4.0";
  }
  return "0.3.0";
}

Result<CdiSpec> parseCdiSpec(std::string_view text, std::string_view file) {
  if (text.size() > kMaxSpecBytes) {
    return fail(Errc::kInvalidArgument, std::string(file) + ": larger than 4 MiB");
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  bool json = first != std::string_view::npos && text[first] == '{';
  if (json) {
    if (jsonTooDeep(text)) {
      return fail(Errc::kInvalidArgument,
                  std::string(file) + ": invalid JSON: nested deeper than 64 levels");
    }
    HULL_ASSIGN_OR_RETURN(Json root, parseJsonTree(text, file));
    return decodeSpec(root, file, false);
  }
  HULL_ASSIGN_OR_RETURN(Json root, parseYamlTree(text, file));
  return decodeSpec(root, file, true);
}

std::vector<std::string> defaultCdiSpecDirs() {
  const char* env = std::getenv("HULL_CDI_SPEC_DIRS");
  if (!env) return {"/etc/cdi", "/var/run/cdi"};
  std::vector<std::string> dirs;
  std::string_view rest = env;
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view part = rest.substr(0, colon);
    if (!part.empty()) dirs.emplace_back(part);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  return dirs;
}

CdiRegistry loadCdiSpecs(const std::vector<std::string>& dirs) {
  CdiRegistry reg;
  for (const std::string& dir : dirs) {
    std::vector<std::string> files = specFilesIn(dir, reg.errors);
    reg.error_kinds.resize(reg.errors.size());
    for (const std::string& path : files) {
      Result<std::string> text = readFile(path, kMaxSpecBytes);
      if (!text) {
        reg.errors.push_back(text.error());
        reg.error_kinds.emplace_back();
        continue;
      }
      Result<CdiSpec> spec = parseCdiSpec(*text, path);
      if (spec) {
        reg.specs.push_back(std::move(*spec));
      } else {
        reg.errors.push_back(spec.error());
        reg.error_kinds.push_back(kindHint(*text, path));
      }
    }
  }
  return reg;
}

}  // namespace hull::gpu
