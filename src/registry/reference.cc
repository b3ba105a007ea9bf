// Reference splitting on top of store::normalizeName (the grammar and its limits live there: one
// grammar for the whole program).
#include "registry/reference.h"

#include <fmt/format.h>

#include "store/store.h"

namespace hull::registry {
namespace {

constexpr std::string_view kLibrary = "library/";

// Docker's splitDockerDomain: the first component is a domain when it looks like one.
void splitDomain(std::string_view name, std::string& domain, std::string& path) {
  std::size_t slash = name.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = name.substr(0, slash);
    bool upper = first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || upper) {
      domain = normalizeDomain(first);
      path = name.substr(slash + 1);
      if (domain != kDockerHubDomain || path.find('/') != std::string::npos) return;
      path = std::string(kLibrary) + path;
      return;
    }
  }
  domain = kDockerHubDomain;
  path = slash == std::string_view::npos ? std::string(kLibrary) + std::string(name)
                                         : std::string(name);
}

}  // namespace

std::string normalizeDomain(std::string_view domain) {
  if (domain == "index.docker.io" || domain == "registry-1.docker.io" ||
      domain == "registry.hub.docker.com") {
    return std::string(kDockerHubDomain);
  }
  return std::string(domain);
}

bool isLoopbackDomain(std::string_view domain) {
  std::string_view host = domain;
  if (host.starts_with('[')) {
    return host.starts_with("[::1]");
  }
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.starts_with("127.");
}

Result<Reference> parseReference(std::string_view text) {
  // normalizeName checks the grammar and lengths and yields the familiar form, which has at
  // most one '@' (before the digest) and its tag after the last ':' that follows the last '/'.
  HULL_ASSIGN_OR_RETURN(std::string familiar, store::normalizeName(text));
  Reference ref;
  std::string_view rest = familiar;
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    HULL_ASSIGN_OR_RETURN(ref.digest, Digest::parse(rest.substr(at + 1)));
    rest = rest.substr(0, at);
  }
  std::size_t colon = rest.rfind(':');
  std::size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  splitDomain(rest, ref.domain, ref.repository);
  return ref;
}

std::string Reference::name() const { return domain + "/" + repository; }

std::string Reference::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->str();
  return out;
}

std::string Reference::familiarRepository() const {
  if (domain != kDockerHubDomain) return name();
  if (repository.starts_with(kLibrary) &&
      repository.find('/', kLibrary.size()) == std::string::npos) {
    return repository.substr(kLibrary.size());
  }
  return repository;
}

std::string Reference::familiar() const {
  std::string out = familiarRepository();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->str();
  return out;
}

std::string Reference::identifier() const { return digest ? digest->str() : tag; }

std::string Reference::host() const {
  return domain == kDockerHubDomain ? std::string(kDockerHubHost) : domain;
}

}  // namespace hull::registry
