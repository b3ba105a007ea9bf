// Writing CDI specs (JSON and YAML, fields in the order the CDI schema lists them, empty ones
// left out) and generating the spec for this host's NVIDIA GPUs.
#include <algorithm>
#include <cctype>
#include <iterator>

#include <yaml-cpp/yaml.h>

#include "base/json.h"
#include "gpu/cdi.h"
#include "gpu/inject.h"

namespace hull::gpu {
namespace {

OrderedJson nodeJson(const CdiDeviceNode& n) {
  OrderedJson j;
  j["path"] = n.path;
  if (!n.host_path.empty()) j["hostPath"] = n.host_path;
  if (!n.type.empty()) j["type"] = n.type;
  if (n.major) j["major"] = *n.major;
  if (n.minor) j["minor"] = *n.minor;
  if (n.file_mode) j["fileMode"] = *n.file_mode;
  if (!n.permissions.empty()) j["permissions"] = n.permissions;
  if (n.uid) j["uid"] = *n.uid;
  if (n.gid) j["gid"] = *n.gid;
  return j;
}

OrderedJson mountJson(const CdiMount& m) {
  OrderedJson j;
  j["hostPath"] = m.host_path;
  j["containerPath"] = m.container_path;
  if (!m.type.empty()) j["type"] = m.type;
  if (!m.options.empty()) j["options"] = m.options;
  return j;
}

OrderedJson hookJson(const CdiHook& h) {
  OrderedJson j;
  j["hookName"] = h.hook_name;
  j["path"] = h.path;
  if (!h.args.empty()) j["args"] = h.args;
  if (!h.env.empty()) j["env"] = h.env;
  if (h.timeout) j["timeout"] = *h.timeout;
  return j;
}

OrderedJson editsJson(const CdiEdits& e) {
  OrderedJson j = OrderedJson::object();
  if (!e.env.empty()) j["env"] = e.env;
  for (const CdiDeviceNode& n : e.device_nodes) j["deviceNodes"].push_back(nodeJson(n));
  for (const CdiMount& m : e.mounts) j["mounts"].push_back(mountJson(m));
  for (const CdiHook& h : e.hooks) j["hooks"].push_back(hookJson(h));
  if (!e.additional_gids.empty()) j["additionalGids"] = e.additional_gids;
  return j;
}

OrderedJson specJson(const CdiSpec& spec) {
  OrderedJson j;
  j["cdiVersion"] = spec.version;
  j["kind"] = spec.kind;
  if (!spec.annotations.empty()) j["annotations"] = spec.annotations;
  j["devices"] = OrderedJson::array();
  for (const CdiDevice& d : spec.devices) {
    OrderedJson dj;
    dj["name"] = d.name;
    if (!d.annotations.empty()) dj["annotations"] = d.annotations;
    dj["containerEdits"] = editsJson(d.edits);
    j["devices"].push_back(std::move(dj));
  }
  OrderedJson edits = editsJson(spec.edits);
  if (!edits.empty()) j["containerEdits"] = std::move(edits);
  return j;
}

// A string a YAML reader would take for something else (a number, a boolean, null) is quoted,
// so Go's CDI reader sees the string `"0"`, not the integer 0.
bool yamlNeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* kWords[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if (digit(s[0])) return true;
  // -1, +1, .5, -.5, .inf, .nan: numbers to YAML; "--folder" is just a string.
  if (s[0] == '-' || s[0] == '+' || s[0] == '.') {
    return s.size() == 1 || digit(s[1]) || s[1] == '.' || lower == ".inf" || lower == ".nan" ||
           lower == "-.inf" || lower == "+.inf";
  }
  return false;
}

void emitYaml(YAML::Emitter& out, const OrderedJson& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      emitYaml(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& v : j) emitYaml(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (yamlNeedsQuotes(s)) out << YAML::DoubleQuoted;
    out << s;
  } else {
    out << j.dump();  // numbers
  }
}

const std::vector<std::string> kMountOptions = {"ro", "nosuid", "nodev", "bind"};
// Sockets and pipes are not programs: nvidia-ctk mounts them noexec as well.
const std::vector<std::string> kIpcMountOptions = {"ro", "nosuid", "nodev", "bind", "noexec"};

void addFiles(CdiEdits& edits, const std::vector<DriverFile>& files,
              const std::vector<std::string>& options) {
  for (const DriverFile& f : files) {
    if (f.capability == Capability::kDisplay) continue;
    edits.mounts.push_back(CdiMount{f.host_path, f.container_path, "bind", options});
  }
}

CdiDeviceNode cdiNode(const DeviceNode& n) {
  CdiDeviceNode node;
  node.path = n.container_path;
  // Numbers are left to the runtime's stat: nvidia-uvm's major changes when the module reloads.
  node.host_path = n.host_path;
  return node;
}

}  // namespace

std::string cdiSpecToJson(const CdiSpec& spec) { return specJson(spec).dump(2) + "\n"; }

std::string cdiSpecToYaml(const CdiSpec& spec) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginDoc;
  emitYaml(out, specJson(spec));
  return std::string(out.c_str()) + "\n";
}

CdiSpec generateCdiSpec(const Driver& driver, const std::string& hook_binary) {
  CdiSpec spec;
  spec.kind = "nvidia.com/gpu";
  // Devices: one per GPU by index, the same again by UUID, and "all".
  CdiDevice all{"all", {}, {}};
  std::vector<CdiDevice> by_uuid;
  for (const Gpu& gpu : driver.gpus) {
    CdiEdits edits;
    edits.device_nodes.push_back(cdiNode(gpu.node));
    spec.devices.push_back(CdiDevice{std::to_string(gpu.index), {}, edits});
    if (!gpu.uuid.empty()) by_uuid.push_back(CdiDevice{gpu.uuid, {}, edits});
    all.edits.device_nodes.push_back(cdiNode(gpu.node));
  }
  spec.devices.insert(spec.devices.end(), by_uuid.begin(), by_uuid.end());
  if (!driver.gpus.empty()) spec.devices.push_back(std::move(all));

  // Common edits: what every GPU needs once.
  // NVIDIA_VISIBLE_DEVICES=void stops a legacy NVIDIA runtime hook in the same container from
  // injecting devices a second time.
  spec.edits.env.push_back("NVIDIA_VISIBLE_DEVICES=void");
  for (const DeviceNode& n : driver.control_nodes) spec.edits.device_nodes.push_back(cdiNode(n));
  addFiles(spec.edits, driver.libraries, kMountOptions);
  addFiles(spec.edits, driver.binaries, kMountOptions);
  addFiles(spec.edits, driver.firmware, kMountOptions);
  addFiles(spec.edits, driver.ipc, kIpcMountOptions);
  // The ld cache lists the folders of the libraries mounted, not those of display libraries.
  Driver mounted;
  std::copy_if(driver.libraries.begin(), driver.libraries.end(),
               std::back_inserter(mounted.libraries),
               [](const DriverFile& f) { return f.capability != Capability::kDisplay; });
  std::vector<std::string> dirs = mounted.library_dirs();
  if (!dirs.empty()) {
    spec.edits.hooks.push_back(
        CdiHook{"createContainer", hook_binary, ldcacheHookArgs(hook_binary, dirs), {}, {}});
  }
  spec.version = minimumCdiVersion(spec);
  return spec;
}

}  // namespace hull::gpu
