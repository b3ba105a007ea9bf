#include "oci/image.h"
#include "oci/media_types.h"

#include <sys/utsname.h>

#include <ctime>

#include <fmt/format.h>

namespace hull::oci {
namespace {

// Typed field readers: a present field of the wrong type is an error, a missing one is not.
Result<std::string> getString(const Json& j, const char* key, const char* what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: field \"{}\" must be a string", what, key));
  }
  return it->get<std::string>();
}

Result<int64_t> getInt(const Json& j, const char* key, const char* what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: field \"{}\" must be an integer", what, key));
  }
  return it->get<int64_t>();
}

Result<std::optional<std::vector<std::string>>> getStrings(const Json& j, const char* key,
                                                           const char* what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  auto bad = fail(Errc::kInvalidArgument,
                  fmt::format("{}: field \"{}\" must be an array of strings", what, key));
  if (!it->is_array()) return bad;
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) return bad;
    out.push_back(v.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::map<std::string, std::string>> getStringMap(const Json& j, const char* key,
                                                        const char* what) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  auto bad = fail(Errc::kInvalidArgument,
                  fmt::format("{}: field \"{}\" must be an object of strings", what, key));
  if (!it->is_object()) return bad;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return bad;
    out[k] = v.get<std::string>();
  }
  return out;
}

// Keys of an object used as a set ({"80/tcp": {}}), as Docker stores ExposedPorts and Volumes.
Result<std::vector<std::string>> getKeySet(const Json& j, const char* key, const char* what) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: field \"{}\" must be an object", what, key));
  }
  for (const auto& [k, v] : it->items()) out.push_back(k);
  return out;
}

Result<void> requireObject(const Json& j, const char* what) {
  if (!j.is_object())
    return fail(Errc::kInvalidArgument, fmt::format("{}: not a JSON object", what));
  return {};
}

Json stringsOrNull(const std::optional<std::vector<std::string>>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json keySet(const std::vector<std::string>& keys) {
  Json o = Json::object();
  for (const auto& k : keys) o[k] = Json::object();
  return o;
}

}  // namespace

Json toJson(const Platform& p) {
  Json j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.variant.empty()) j["variant"] = p.variant;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  return j;
}

Json toJson(const Descriptor& d) {
  Json j = {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = toJson(*d.platform);
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  if (!d.urls.empty()) j["urls"] = d.urls;
  return j;
}

Json toJson(const Manifest& m) {
  Json j = {{"schemaVersion", m.schema_version}, {"config", toJson(m.config)}};
  if (!m.media_type.empty()) j["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) j["artifactType"] = m.artifact_type;
  j["layers"] = Json::array();
  for (const auto& l : m.layers) j["layers"].push_back(toJson(l));
  if (m.subject) j["subject"] = toJson(*m.subject);
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j;
}

Json toJson(const Index& i) {
  Json j = {{"schemaVersion", i.schema_version}};
  if (!i.media_type.empty()) j["mediaType"] = i.media_type;
  j["manifests"] = Json::array();
  for (const auto& m : i.manifests) j["manifests"].push_back(toJson(m));
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j;
}

Json toJson(const ContainerConfig& c) {
  Json j = Json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = keySet(c.exposed_ports);
  if (!c.env.empty()) j["Env"] = c.env;
  if (c.entrypoint) j["Entrypoint"] = stringsOrNull(c.entrypoint);
  if (c.cmd) j["Cmd"] = stringsOrNull(c.cmd);
  if (!c.volumes.empty()) j["Volumes"] = keySet(c.volumes);
  if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.healthcheck) {
    const HealthConfig& h = *c.healthcheck;
    Json hj = {{"Test", h.test}};
    if (h.interval) hj["Interval"] = h.interval;
    if (h.timeout) hj["Timeout"] = h.timeout;
    if (h.start_period) hj["StartPeriod"] = h.start_period;
    if (h.start_interval) hj["StartInterval"] = h.start_interval;
    if (h.retries) hj["Retries"] = h.retries;
    j["Healthcheck"] = hj;
  }
  if (!c.shell.empty()) j["Shell"] = c.shell;
  if (!c.on_build.empty()) j["OnBuild"] = c.on_build;
  return j;
}

Json toJson(const ImageConfig& c) {
  Json j = Json::object();
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  if (!c.variant.empty()) j["variant"] = c.variant;
  j["config"] = toJson(c.config);
  Json diff_ids = Json::array();
  for (const auto& d : c.diff_ids) diff_ids.push_back(d.str());
  j["rootfs"] = {{"type", c.rootfs_type}, {"diff_ids", diff_ids}};
  if (!c.history.empty()) {
    Json h = Json::array();
    for (const auto& e : c.history) {
      Json hj = Json::object();
      if (!e.created.empty()) hj["created"] = e.created;
      if (!e.created_by.empty()) hj["created_by"] = e.created_by;
      if (!e.author.empty()) hj["author"] = e.author;
      if (!e.comment.empty()) hj["comment"] = e.comment;
      if (e.empty_layer) hj["empty_layer"] = true;
      h.push_back(hj);
    }
    j["history"] = h;
  }
  return j;
}

Result<Platform> platformFromJson(const Json& j) {
  HULL_TRY(requireObject(j, "platform"));
  Platform p;
  HULL_ASSIGN_OR_RETURN(p.architecture, getString(j, "architecture", "platform"));
  HULL_ASSIGN_OR_RETURN(p.os, getString(j, "os", "platform"));
  HULL_ASSIGN_OR_RETURN(p.variant, getString(j, "variant", "platform"));
  HULL_ASSIGN_OR_RETURN(p.os_version, getString(j, "os.version", "platform"));
  HULL_ASSIGN_OR_RETURN(auto features, getStrings(j, "os.features", "platform"));
  if (features) p.os_features = *features;
  return p;
}

Result<Descriptor> descriptorFromJson(const Json& j) {
  HULL_TRY(requireObject(j, "descriptor"));
  Descriptor d;
  HULL_ASSIGN_OR_RETURN(d.media_type, getString(j, "mediaType", "descriptor"));
  HULL_ASSIGN_OR_RETURN(std::string digest, getString(j, "digest", "descriptor"));
  HULL_ASSIGN_OR_RETURN(d.digest, Digest::parse(digest).map_error(
                                      [](Error e) { return std::move(e).wrap("descriptor"); }));
  HULL_ASSIGN_OR_RETURN(d.size, getInt(j, "size", "descriptor"));
  if (d.size < 0) return fail(Errc::kInvalidArgument, "descriptor: negative size");
  HULL_ASSIGN_OR_RETURN(d.annotations, getStringMap(j, "annotations", "descriptor"));
  if (auto it = j.find("platform"); it != j.end() && !it->is_null()) {
    HULL_ASSIGN_OR_RETURN(d.platform, platformFromJson(*it));
  }
  HULL_ASSIGN_OR_RETURN(d.artifact_type, getString(j, "artifactType", "descriptor"));
  HULL_ASSIGN_OR_RETURN(auto urls, getStrings(j, "urls", "descriptor"));
  if (urls) d.urls = *urls;
  return d;
}

Result<Manifest> manifestFromJson(const Json& j) {
  HULL_TRY(requireObject(j, "manifest"));
  Manifest m;
  HULL_ASSIGN_OR_RETURN(int64_t version, getInt(j, "schemaVersion", "manifest"));
  HULL_ASSIGN_OR_RETURN(m.media_type, getString(j, "mediaType", "manifest"));
  if (version == 1 || m.media_type == kDockerSchema1Manifest ||
      m.media_type == kDockerSchema1Signed) {
    return fail(Errc::kUnsupported,
                "manifest: Docker schema 1 manifests are not supported; push the image again with "
                "a current client");
  }
  if (version != 2) return fail(Errc::kInvalidArgument, "manifest: schemaVersion must be 2");
  if (!m.media_type.empty() && !isManifestType(m.media_type)) {
    return fail(Errc::kInvalidArgument, "manifest: unexpected mediaType " + m.media_type);
  }
  HULL_ASSIGN_OR_RETURN(m.artifact_type, getString(j, "artifactType", "manifest"));
  auto config = j.find("config");
  if (config == j.end()) return fail(Errc::kInvalidArgument, "manifest: missing config");
  HULL_ASSIGN_OR_RETURN(m.config, descriptorFromJson(*config).map_error([](Error e) {
    return std::move(e).wrap("manifest config");
  }));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) {
    return fail(Errc::kInvalidArgument, "manifest: missing layers array");
  }
  for (const auto& l : *layers) {
    HULL_ASSIGN_OR_RETURN(Descriptor d, descriptorFromJson(l).map_error([](Error e) {
      return std::move(e).wrap("manifest layer");
    }));
    m.layers.push_back(std::move(d));
  }
  if (auto it = j.find("subject"); it != j.end() && !it->is_null()) {
    HULL_ASSIGN_OR_RETURN(m.subject, descriptorFromJson(*it));
  }
  HULL_ASSIGN_OR_RETURN(m.annotations, getStringMap(j, "annotations", "manifest"));
  return m;
}

Result<Index> indexFromJson(const Json& j) {
  HULL_TRY(requireObject(j, "index"));
  Index i;
  HULL_ASSIGN_OR_RETURN(int64_t version, getInt(j, "schemaVersion", "index"));
  if (version != 2) return fail(Errc::kInvalidArgument, "index: schemaVersion must be 2");
  HULL_ASSIGN_OR_RETURN(i.media_type, getString(j, "mediaType", "index"));
  auto manifests = j.find("manifests");
  if (manifests == j.end() || !manifests->is_array()) {
    return fail(Errc::kInvalidArgument, "index: missing manifests array");
  }
  for (const auto& m : *manifests) {
    HULL_ASSIGN_OR_RETURN(Descriptor d, descriptorFromJson(m).map_error(
                                            [](Error e) { return std::move(e).wrap("index"); }));
    i.manifests.push_back(std::move(d));
  }
  HULL_ASSIGN_OR_RETURN(i.annotations, getStringMap(j, "annotations", "index"));
  return i;
}

Result<ContainerConfig> containerConfigFromJson(const Json& j) {
  ContainerConfig c;
  if (j.is_null()) return c;
  const char* w = "image config";
  HULL_TRY(requireObject(j, w));
  HULL_ASSIGN_OR_RETURN(c.user, getString(j, "User", w));
  HULL_ASSIGN_OR_RETURN(c.exposed_ports, getKeySet(j, "ExposedPorts", w));
  HULL_ASSIGN_OR_RETURN(auto env, getStrings(j, "Env", w));
  if (env) c.env = *env;
  HULL_ASSIGN_OR_RETURN(c.entrypoint, getStrings(j, "Entrypoint", w));
  HULL_ASSIGN_OR_RETURN(c.cmd, getStrings(j, "Cmd", w));
  HULL_ASSIGN_OR_RETURN(c.volumes, getKeySet(j, "Volumes", w));
  HULL_ASSIGN_OR_RETURN(c.working_dir, getString(j, "WorkingDir", w));
  HULL_ASSIGN_OR_RETURN(c.labels, getStringMap(j, "Labels", w));
  HULL_ASSIGN_OR_RETURN(c.stop_signal, getString(j, "StopSignal", w));
  if (auto it = j.find("Healthcheck"); it != j.end() && !it->is_null()) {
    HULL_TRY(requireObject(*it, "image config Healthcheck"));
    HealthConfig h;
    HULL_ASSIGN_OR_RETURN(auto test, getStrings(*it, "Test", w));
    if (test) h.test = *test;
    HULL_ASSIGN_OR_RETURN(h.interval, getInt(*it, "Interval", w));
    HULL_ASSIGN_OR_RETURN(h.timeout, getInt(*it, "Timeout", w));
    HULL_ASSIGN_OR_RETURN(h.start_period, getInt(*it, "StartPeriod", w));
    HULL_ASSIGN_OR_RETURN(h.start_interval, getInt(*it, "StartInterval", w));
    HULL_ASSIGN_OR_RETURN(int64_t retries, getInt(*it, "Retries", w));
    h.retries = static_cast<int>(retries);
    c.healthcheck = std::move(h);
  }
  HULL_ASSIGN_OR_RETURN(auto shell, getStrings(j, "Shell", w));
  if (shell) c.shell = *shell;
  HULL_ASSIGN_OR_RETURN(auto on_build, getStrings(j, "OnBuild", w));
  if (on_build) c.on_build = *on_build;
  return c;
}

Result<ImageConfig> imageConfigFromJson(const Json& j) {
  const char* w = "image config";
  HULL_TRY(requireObject(j, w));
  ImageConfig c;
  HULL_ASSIGN_OR_RETURN(c.created, getString(j, "created", w));
  HULL_ASSIGN_OR_RETURN(c.author, getString(j, "author", w));
  HULL_ASSIGN_OR_RETURN(c.architecture, getString(j, "architecture", w));
  HULL_ASSIGN_OR_RETURN(c.os, getString(j, "os", w));
  HULL_ASSIGN_OR_RETURN(c.variant, getString(j, "variant", w));
  if (auto it = j.find("config"); it != j.end()) {
    HULL_ASSIGN_OR_RETURN(c.config, containerConfigFromJson(*it));
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object()) {
    return fail(Errc::kInvalidArgument, "image config: missing rootfs");
  }
  HULL_ASSIGN_OR_RETURN(c.rootfs_type, getString(*rootfs, "type", w));
  HULL_ASSIGN_OR_RETURN(auto diff_ids, getStrings(*rootfs, "diff_ids", w));
  for (const auto& d : diff_ids.value_or(std::vector<std::string>{})) {
    HULL_ASSIGN_OR_RETURN(Digest digest, Digest::parse(d).map_error([](Error e) {
      return std::move(e).wrap("image config diff_ids");
    }));
    c.diff_ids.push_back(std::move(digest));
  }
  if (auto it = j.find("history"); it != j.end() && !it->is_null()) {
    if (!it->is_array())
      return fail(Errc::kInvalidArgument, "image config: history must be an array");
    for (const auto& e : *it) {
      HULL_TRY(requireObject(e, "image config history entry"));
      History h;
      HULL_ASSIGN_OR_RETURN(h.created, getString(e, "created", w));
      HULL_ASSIGN_OR_RETURN(h.created_by, getString(e, "created_by", w));
      HULL_ASSIGN_OR_RETURN(h.author, getString(e, "author", w));
      HULL_ASSIGN_OR_RETURN(h.comment, getString(e, "comment", w));
      if (auto el = e.find("empty_layer"); el != e.end() && el->is_boolean()) {
        h.empty_layer = el->get<bool>();
      }
      c.history.push_back(std::move(h));
    }
  }
  return c;
}

Result<Manifest> parseManifest(std::string_view bytes) {
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(bytes, "manifest"));
  return manifestFromJson(j);
}

Result<Index> parseIndex(std::string_view bytes) {
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(bytes, "index"));
  return indexFromJson(j);
}

Result<ImageConfig> parseImageConfig(std::string_view bytes) {
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(bytes, "image config"));
  return imageConfigFromJson(j);
}

std::string serialize(const Manifest& m) { return canonicalJson(toJson(m)); }
std::string serialize(const Index& i) { return canonicalJson(toJson(i)); }
std::string serialize(const ImageConfig& c) { return canonicalJson(toJson(c)); }

std::string formatTimestamp(int64_t unix_seconds, int32_t nanos) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (nanos == 0) return std::string(buf) + "Z";
  std::string frac = fmt::format("{:09d}", nanos);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::string(buf) + "." + frac + "Z";
}

Platform hostPlatform() {
  struct utsname u {};
  ::uname(&u);
  std::string m = u.machine;
  Platform p;
  p.os = "linux";
  if (m == "x86_64")
    p.architecture = "amd64";
  else if (m == "aarch64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (m.starts_with("armv7")) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (m == "i686" || m == "i386")
    p.architecture = "386";
  else
    p.architecture = m;
  return p;
}

}  // namespace hull::oci
