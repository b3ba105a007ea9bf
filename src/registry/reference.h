// Image references as a registry sees them: Docker's reference grammar
// (github.com/distribution/reference) split into registry domain, repository path, tag and
// digest. The grammar itself is store::normalizeName's, so a name means the same thing to the
// store and to the registry client.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/digest.h"
#include "base/result.h"

namespace hull::registry {

// Docker Hub: the domain of names without one, and the host its API lives on.
inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubHost = "registry-1.docker.io";

struct Reference {
  std::string domain;      // "docker.io", "localhost:5000", "[::1]:5000"
  std::string repository;  // "library/busybox", "ml/serve"
  std::string tag;         // empty only when digest is set
  std::optional<Digest> digest;

  // "docker.io/library/busybox"
  std::string name() const;
  // The fully qualified form: "docker.io/library/busybox:latest", "localhost:5000/x@sha256:..".
  std::string str() const;
  // The short form the store keeps names in: "busybox:latest", "localhost:5000/x:v1".
  std::string familiar() const;
  // The repository in its short form: "busybox", "localhost:5000/x".
  std::string familiarRepository() const;
  // What to ask the registry for: the digest when there is one, else the tag.
  std::string identifier() const;
  // The host (and port) to connect to: registry-1.docker.io for docker.io.
  std::string host() const;
};

// Parses and normalizes a user-given reference: "busybox" is docker.io/library/busybox:latest,
// "index.docker.io/x" is docker.io/library/x, a first component with "." or ":" (or "localhost",
// or an upper-case letter) is a registry domain. kInvalidArgument names what is wrong.
Result<Reference> parseReference(std::string_view text);

// Folds the spellings of Docker Hub to kDockerHubDomain; other domains are returned unchanged.
std::string normalizeDomain(std::string_view domain);

// Whether a domain names this machine: localhost, 127.0.0.0/8 or [::1], with any port.
bool isLoopbackDomain(std::string_view domain);

}  // namespace hull::registry
