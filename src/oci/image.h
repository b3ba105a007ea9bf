// OCI image objects (descriptor, manifest, index, config) and their JSON codecs. No I/O.
// Decoding is strict about types and lenient about unknown fields, as the spec asks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/json.h"
#include "base/result.h"

namespace hull::oci {

struct Platform {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  friend bool operator==(const Platform&, const Platform&) = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;
  std::vector<std::string> urls;
  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // may be empty in OCI manifests
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval = 0;  // nanoseconds, as Docker stores them
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int retries = 0;
  friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

// The "config" object of an image configuration (what a container starts with).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthConfig> healthcheck;  // Docker extension, kept by Docker-format images
  std::vector<std::string> shell;           // Docker extension
  std::vector<std::string> on_build;        // Docker extension
  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct History {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  friend bool operator==(const History&, const History&) = default;
};

struct ImageConfig {
  std::string created;
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  ContainerConfig config;
  std::string rootfs_type = "layers";
  std::vector<Digest> diff_ids;
  std::vector<History> history;
};

Json toJson(const Descriptor& d);
Json toJson(const Platform& p);
Json toJson(const Manifest& m);
Json toJson(const Index& i);
Json toJson(const ContainerConfig& c);
Json toJson(const ImageConfig& c);

Result<Descriptor> descriptorFromJson(const Json& j);
Result<Platform> platformFromJson(const Json& j);
Result<Manifest> manifestFromJson(const Json& j);
Result<Index> indexFromJson(const Json& j);
Result<ContainerConfig> containerConfigFromJson(const Json& j);
Result<ImageConfig> imageConfigFromJson(const Json& j);

// Parse untrusted bytes (size-capped by the caller).
Result<Manifest> parseManifest(std::string_view bytes);
Result<Index> parseIndex(std::string_view bytes);
Result<ImageConfig> parseImageConfig(std::string_view bytes);

// The canonical bytes hull writes for an object (sorted keys, no whitespace).
std::string serialize(const Manifest& m);
std::string serialize(const Index& i);
std::string serialize(const ImageConfig& c);

// Go's time format used in configs: "2006-01-02T15:04:05Z" (RFC 3339, UTC).
std::string formatTimestamp(int64_t unix_seconds, int32_t nanos = 0);

// The host's platform in OCI terms (GOARCH names: amd64, arm64, ...).
Platform hostPlatform();

}  // namespace hull::oci
