#include "engine/archive.h"

#include <fmt/format.h>

#include "base/json.h"

namespace hull::engine {
namespace {

constexpr std::size_t kPathMax = 4096;
constexpr std::size_t kImagesMax = 10000;
constexpr std::size_t kLayersMax = 1000;

auto corrupt(std::string message) { return fail(Errc::kCorrupt, std::move(message)); }

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) {
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

// Joins and normalizes components, refusing to climb above the archive root.
Result<std::string> normalize(std::string_view path, std::string_view original) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return corrupt(fmt::format("archive entry \"{}\" leaves the archive", printable(original)));
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto p : parts) out += (out.empty() ? "" : "/") + std::string(p);
  if (out.empty())
    return corrupt(fmt::format("archive entry \"{}\" has no name", printable(original)));
  return out;
}

}  // namespace

Result<ArchiveFormat> parseArchiveFormat(std::string_view text) {
  if (text == "docker" || text == "docker-archive") return ArchiveFormat::kDocker;
  if (text == "oci" || text == "oci-archive") return ArchiveFormat::kOci;
  return fail(Errc::kInvalidArgument,
              fmt::format("unknown archive format \"{}\" (want docker or oci)", printable(text)));
}

Result<std::string> cleanEntryPath(std::string_view name) {
  if (name.size() > kPathMax) return corrupt("archive entry name is too long");
  if (name.find('\0') != std::string_view::npos) {
    return corrupt(fmt::format("archive entry \"{}\" has a NUL byte in its name", printable(name)));
  }
  if (name.starts_with("/")) {
    return corrupt(fmt::format("archive entry \"{}\" is an absolute path", printable(name)));
  }
  // ".." is refused outright, even where it would stay inside: no honest writer emits it.
  std::string_view rest = name;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    if (rest.substr(0, slash) == "..") {
      return corrupt(fmt::format("archive entry \"{}\" contains \"..\"", printable(name)));
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return normalize(name, name);
}

Result<std::string> resolveLinkTarget(std::string_view link, std::string_view target) {
  if (target.empty() || target.starts_with("/") || target.find('\0') != std::string_view::npos) {
    return corrupt(fmt::format("archive link \"{}\" points outside the archive (\"{}\")",
                               printable(link), printable(target)));
  }
  std::string_view dir =
      link.substr(0, link.rfind('/') == std::string_view::npos ? 0 : link.rfind('/'));
  std::string joined =
      dir.empty() ? std::string(target) : std::string(dir) + "/" + std::string(target);
  return normalize(joined, link).map_error([&](Error e) {
    return Error{Errc::kCorrupt, fmt::format("archive link \"{}\" points outside the archive "
                                             "(\"{}\")",
                                             printable(link), printable(target))};
  });
}

std::optional<Digest> digestInPath(std::string_view path) {
  std::string_view hex;
  if (path.starts_with("blobs/sha256/")) {
    hex = path.substr(13);
  } else if (path.ends_with(".json") && path.find('/') == std::string_view::npos) {
    hex = path.substr(0, path.size() - 5);
  } else {
    return std::nullopt;
  }
  auto d = Digest::parse("sha256:" + std::string(hex));
  if (!d) return std::nullopt;
  return *d;
}

namespace {

Result<std::vector<std::string>> stringArray(const Json& j, const char* key, bool required,
                                             std::size_t index) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!required) return out;
    return corrupt(fmt::format("manifest.json: image {} has no \"{}\"", index, key));
  }
  if (!it->is_array()) {
    return corrupt(fmt::format("manifest.json: image {}: \"{}\" must be an array", index, key));
  }
  if (it->size() > kLayersMax) {
    return corrupt(fmt::format("manifest.json: image {}: too many \"{}\"", index, key));
  }
  for (const auto& v : *it) {
    if (!v.is_string()) {
      return corrupt(
          fmt::format("manifest.json: image {}: \"{}\" must hold only strings", index, key));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<DockerArchiveImage> parseImage(const Json& j, std::size_t index) {
  if (!j.is_object())
    return corrupt(fmt::format("manifest.json: image {} is not an object", index));
  DockerArchiveImage image;
  auto config = j.find("Config");
  if (config == j.end() || !config->is_string()) {
    return corrupt(fmt::format("manifest.json: image {} has no \"Config\" string", index));
  }
  auto where = [&](Error e) {
    return std::move(e).wrap(fmt::format("manifest.json: image {}", index));
  };
  HULL_ASSIGN_OR_RETURN(image.config, cleanEntryPath(config->get<std::string>()).map_error(where));
  HULL_ASSIGN_OR_RETURN(image.repo_tags, stringArray(j, "RepoTags", false, index));
  HULL_ASSIGN_OR_RETURN(auto layers, stringArray(j, "Layers", true, index));
  for (const auto& l : layers) {
    HULL_ASSIGN_OR_RETURN(std::string clean, cleanEntryPath(l).map_error(where));
    image.layers.push_back(std::move(clean));
  }
  return image;
}

}  // namespace

Result<std::vector<DockerArchiveImage>> parseDockerManifest(std::string_view bytes) {
  auto j = parseJson(bytes, "manifest.json");
  if (!j) return corrupt(j.error().message);
  if (!j->is_array()) return corrupt("manifest.json: not a JSON array");
  if (j->empty()) return corrupt("manifest.json: lists no images");
  if (j->size() > kImagesMax) return corrupt("manifest.json: too many images");
  std::vector<DockerArchiveImage> out;
  for (std::size_t i = 0; i < j->size(); ++i) {
    HULL_ASSIGN_OR_RETURN(DockerArchiveImage image, parseImage((*j)[i], i));
    out.push_back(std::move(image));
  }
  return out;
}

}  // namespace hull::engine
