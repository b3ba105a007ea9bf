// Media types of the OCI Image Spec 1.1 and of Docker's v2 schema 2 (read on pull and load).
#pragma once

#include <string_view>

namespace hull::oci {

inline constexpr std::string_view kMediaTypeImageManifest =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaTypeImageIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaTypeImageConfig =
    "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kMediaTypeLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kMediaTypeLayerGzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kMediaTypeLayerZstd =
    "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kMediaTypeLayoutHeader =
    "application/vnd.oci.layout.header.v1+json";

inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerSchema1Manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// The annotation that names an image in an OCI layout's index.json.
inline constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kAnnotationCreated = "org.opencontainers.image.created";

inline bool isManifestType(std::string_view t) {
  return t == kMediaTypeImageManifest || t == kDockerManifest;
}
inline bool isIndexType(std::string_view t) {
  return t == kMediaTypeImageIndex || t == kDockerManifestList;
}
inline bool isLayerType(std::string_view t) {
  return t == kMediaTypeLayer || t == kMediaTypeLayerGzip || t == kMediaTypeLayerZstd ||
         t == kDockerLayer || t == kDockerLayerGzip ||
         t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
         t == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

}  // namespace hull::oci
