// Image archives: the `docker save` layout (manifest.json, <config>.json, <layer>/layer.tar) and
// the OCI image layout in a tar (oci-layout, index.json, blobs/sha256/*). This header holds the
// pure pieces that read untrusted archive metadata; save.cc and load.cc do the I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/result.h"

namespace hull::engine {

enum class ArchiveFormat { kDocker, kOci };

Result<ArchiveFormat> parseArchiveFormat(std::string_view text);  // "docker", "oci", "oci-archive"

// A tar entry name made canonical: "./" and duplicate slashes dropped. Absolute names, "..",
// NUL bytes, empty and overlong names are kCorrupt.
Result<std::string> cleanEntryPath(std::string_view name);

// Where a symbolic link entry at `link` pointing at `target` leads, as a clean archive path;
// kCorrupt when it leaves the archive.
Result<std::string> resolveLinkTarget(std::string_view link, std::string_view target);

// The digest an archive path names: "blobs/sha256/<hex>" or "<hex>.json" (a config in a
// docker-archive). Nothing for other paths.
std::optional<Digest> digestInPath(std::string_view path);

// One image of a docker-archive's manifest.json.
struct DockerArchiveImage {
  std::string config;                  // clean archive path
  std::vector<std::string> repo_tags;  // as written; may be empty
  std::vector<std::string> layers;     // clean archive paths, base layer first
};

// Parses manifest.json strictly: an array of objects with a string Config, an array of string
// Layers and an optional array of string RepoTags. Everything else is kCorrupt with a reason.
Result<std::vector<DockerArchiveImage>> parseDockerManifest(std::string_view bytes);

}  // namespace hull::engine
