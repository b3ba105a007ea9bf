// Image names: Docker's reference grammar (github.com/distribution/reference) and its familiar
// form. Hand-written rather than std::regex: the input is untrusted and std::regex recurses per
// character, so a long hostile name could exhaust the stack.
//
//   reference        := name [ ":" tag ] [ "@" digest ]
//   name             := [ domain "/" ] path-component ( "/" path-component )*
//   domain           := host [ ":" port ]      host := domain-component ( "." domain-component )*
//                                                      | "[" IPv6 "]"
//   domain-component := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
//   path-component   := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
#include <fmt/format.h>

#include "store/internal.h"
#include "store/store.h"

namespace hull::store {
namespace {

constexpr std::size_t kNameMax = 255;
constexpr std::size_t kTagMax = 128;

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isAlnum(char c) { return isLowerAlnum(c) || isUpper(c); }
bool isWord(char c) { return isAlnum(c) || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool hasUpper(std::string_view s) {
  for (char c : s) {
    if (isUpper(c)) return true;
  }
  return false;
}

bool isImageId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!isDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

bool validPathComponent(std::string_view c) {
  std::size_t i = 0;
  const std::size_t n = c.size();
  while (true) {
    if (i == n || !isLowerAlnum(c[i])) return false;  // each run of alphanumerics is non-empty
    while (i < n && isLowerAlnum(c[i])) ++i;
    if (i == n) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < n && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < n && c[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool validDomainComponent(std::string_view c) {
  if (c.empty() || !isAlnum(c.front()) || !isAlnum(c.back())) return false;
  for (char ch : c) {
    if (!isAlnum(ch) && ch != '-') return false;
  }
  return true;
}

bool validPort(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (!isDigit(c)) return false;
  }
  return true;
}

bool validDomain(std::string_view d) {
  std::string_view host = d, port;
  if (d.starts_with('[')) {
    std::size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!isHexDigit(c) && c != ':' && c != '.') return false;
    }
    if (close + 1 == d.size()) return true;
    if (d[close + 1] != ':') return false;
    return validPort(d.substr(close + 2));
  }
  if (std::size_t colon = d.find(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    port = d.substr(colon + 1);
    if (!validPort(port)) return false;
  }
  while (true) {
    std::size_t dot = host.find('.');
    if (!validDomainComponent(host.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    host = host.substr(dot + 1);
  }
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > kTagMax || !isWord(t.front())) return false;
  for (char c : t) {
    if (!isWord(c) && c != '.' && c != '-') return false;
  }
  return true;
}

tl::unexpected<Error> invalid(std::string_view why, std::string_view input) {
  return fail(Errc::kInvalidArgument, fmt::format("invalid reference format: {} in \"{}\"", why,
                                                  internal::printable(input)));
}

// Docker's split: the first component is a registry host when it looks like one.
void splitDomain(std::string_view name, std::string_view& domain, std::string_view& path) {
  domain = {};
  path = name;
  std::size_t slash = name.find('/');
  if (slash == std::string_view::npos) return;
  std::string_view first = name.substr(0, slash);
  if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
      hasUpper(first)) {
    domain = first;
    path = name.substr(slash + 1);
  }
}

std::string familiar(std::string_view domain, std::string_view path) {
  if (domain.empty() || domain == "docker.io" || domain == "index.docker.io") {
    constexpr std::string_view kLibrary = "library/";
    if (path.starts_with(kLibrary) && path.find('/', kLibrary.size()) == std::string_view::npos) {
      return std::string(path.substr(kLibrary.size()));
    }
    return std::string(path);
  }
  return fmt::format("{}/{}", domain, path);
}

}  // namespace

Result<std::string> normalizeName(std::string_view input) {
  if (input.empty()) {
    return fail(Errc::kInvalidArgument,
                "invalid reference format: repository name must have at least one component");
  }
  std::string_view rest = input;
  std::string digest;
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    auto d = Digest::parse(rest.substr(at + 1));
    if (!d) return invalid("bad digest (want sha256:<64 lowercase hex digits>)", input);
    digest = d->str();
    rest = rest.substr(0, at);
  }
  std::string_view tag;
  std::size_t colon = rest.rfind(':');
  std::size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!validTag(tag)) return invalid("bad tag", input);
  }
  if (rest.empty()) return invalid("empty repository name", input);
  if (isImageId(rest)) {
    return invalid("a repository name cannot be a 64-digit hexadecimal image ID", input);
  }
  std::string_view domain, path;
  splitDomain(rest, domain, path);
  if (hasUpper(path)) {
    return fail(Errc::kInvalidArgument,
                "invalid reference format: repository name must be lowercase");
  }
  if (!domain.empty() && !validDomain(domain)) return invalid("bad registry host", input);
  for (std::string_view p = path;;) {
    std::size_t next = p.find('/');
    if (!validPathComponent(p.substr(0, next))) return invalid("bad repository name", input);
    if (next == std::string_view::npos) break;
    p = p.substr(next + 1);
  }
  std::string out = familiar(domain, path);
  if (out.size() > kNameMax) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid reference format: repository name must not be more than {} "
                            "characters",
                            kNameMax));
  }
  if (!tag.empty()) {
    out += ':';
    out += tag;
  } else if (digest.empty()) {
    out += ":latest";
  }
  if (!digest.empty()) out += '@' + digest;
  return out;
}

namespace internal {

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace internal
}  // namespace hull::store
