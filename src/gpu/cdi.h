// The Container Device Interface (CDI, versions 0.3.0 to 1.1.0): spec files in JSON or YAML,
// loading them from the spec directories, resolving qualified device names
// ("nvidia.com/gpu=0") to a runtime spec edit, and generating a spec for this host's GPUs.
// Spec files are untrusted input: every error names the file and the field
// ("/etc/cdi/x.yaml: devices[1].containerEdits.deviceNodes[0].path: must be absolute").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gpu/driver.h"
#include "oci/spec_edit.h"

namespace hull::gpu {

struct CdiDeviceNode {
  std::string path;       // in the container
  std::string host_path;  // empty: same as path
  std::string type;       // "c", "b", "u", "p"; empty: from the host node
  std::optional<int64_t> major, minor;
  std::optional<uint32_t> file_mode;
  std::string permissions;  // cgroup access, "rwm" (default)
  std::optional<uint32_t> uid, gid;
  friend bool operator==(const CdiDeviceNode&, const CdiDeviceNode&) = default;
};

struct CdiMount {
  std::string host_path, container_path, type;
  std::vector<std::string> options;
  friend bool operator==(const CdiMount&, const CdiMount&) = default;
};

struct CdiHook {
  std::string hook_name;  // prestart, createRuntime, createContainer, startContainer,
                          // poststart, poststop
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;
  friend bool operator==(const CdiHook&, const CdiHook&) = default;
};

struct CdiEdits {
  std::vector<std::string> env;
  std::vector<CdiDeviceNode> device_nodes;
  std::vector<CdiMount> mounts;
  std::vector<CdiHook> hooks;
  std::vector<uint32_t> additional_gids;  // 0.7.0 and later
  friend bool operator==(const CdiEdits&, const CdiEdits&) = default;
};

struct CdiDevice {
  std::string name;
  std::map<std::string, std::string> annotations;
  CdiEdits edits;
  friend bool operator==(const CdiDevice&, const CdiDevice&) = default;
};

struct CdiSpec {
  std::string version;  // cdiVersion
  std::string kind;     // "vendor.com/class"
  std::map<std::string, std::string> annotations;
  std::vector<CdiDevice> devices;
  CdiEdits edits;    // applied once when any device of the spec is used
  std::string file;  // where it was read from (empty when generated)
  friend bool operator==(const CdiSpec&, const CdiSpec&) = default;
};

// JSON when the text starts with '{' (after space), else YAML. `file` prefixes every error.
Result<CdiSpec> parseCdiSpec(std::string_view text, std::string_view file);
std::string cdiSpecToJson(const CdiSpec& spec);  // pretty, stable key order
std::string cdiSpecToYaml(const CdiSpec& spec);
// The oldest cdiVersion that defines every field the spec uses (hostPath: 0.5.0, annotations:
// 0.6.0, additionalGids: 0.7.0, ...); parseCdiSpec refuses a spec that claims less.
std::string minimumCdiVersion(const CdiSpec& spec);

// The spec directories, lowest priority first: /etc/cdi, /var/run/cdi; $HULL_CDI_SPEC_DIRS
// (colon-separated) replaces them.
std::vector<std::string> defaultCdiSpecDirs();

struct CdiRegistry {
  std::vector<CdiSpec> specs;            // every valid spec; for a device defined twice the later
                                         // directory wins, as the CDI package decides
  std::vector<Error> errors;             // broken files: reported, not fatal until one is used
  std::vector<std::string> error_kinds;  // parallel to errors: the kind the broken file
                                         // declares, when it can be read ("" otherwise)
};
// Reads *.json, *.yaml and *.yml from each directory (missing directories are fine).
CdiRegistry loadCdiSpecs(const std::vector<std::string>& dirs);

// "vendor.com/class=name": true for a CDI device name (what `--device` tells apart from a host
// path).
bool isCdiDeviceName(std::string_view name);

// The host device node at `host_path` (type, major, minor), for device nodes a spec gives
// without numbers.
struct HostNode {
  std::string type;
  int64_t major = 0, minor = 0;
  uint32_t mode = 0666;
};
using StatNode = std::function<Result<HostNode>(const std::string& host_path)>;
Result<HostNode> statHostNode(const std::string& host_path);  // the real one

// The edit for these qualified names: each spec's own containerEdits once, then each device's.
// Unknown names: "CDI device nvidia.com/gpu=3 not found (known: nvidia.com/gpu=0, ...=all)";
// a name only defined in a broken file reports that file's error.
Result<oci::SpecEdit> resolveCdiDevices(const CdiRegistry& registry,
                                        const std::vector<std::string>& names,
                                        const StatNode& stat = statHostNode);

// A spec for this host's GPUs (kind nvidia.com/gpu, cdiVersion 0.5.0 or newer as the features used
// require): a device per GPU named by index and by UUID, and "all"; the driver's files (all
// capabilities but display) and control nodes as the spec's common edits, with the ld cache
// hook (hook_binary gpu hook update-ldcache ...).
CdiSpec generateCdiSpec(const Driver& driver, const std::string& hook_binary);

}  // namespace hull::gpu
