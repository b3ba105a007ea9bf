// Registry authentication: WWW-Authenticate challenges (RFC 7235; Docker's token auth), the
// token server's answer, and the credentials in Docker's ~/.docker/config.json (inline "auths",
// "credsStore" and "credHelpers", which run docker-credential-<name>). Parsing is pure; the
// config and helpers touch only the files and programs they name.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "base/json.h"
#include "base/result.h"

namespace hull::registry {

struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case: realm, service, scope, error
};

// Parses a WWW-Authenticate header value: one or more challenges, each a scheme and
// comma-separated key=value parameters whose values are tokens or quoted strings (backslash
// escapes; quoted commas stay in the value). Hostile input (unterminated quotes, missing
// values, control bytes, over 16 KiB) fails with kInvalidArgument.
Result<std::vector<Challenge>> parseWwwAuthenticate(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;        // or a registry token
  std::string identity_token;  // a refresh token ("identitytoken"), used as password with <token>
  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

struct Token {
  std::string token;
  int64_t expires_in = 60;  // seconds; the spec's default when absent
};

// The token server's JSON answer: {"token": ...} or {"access_token": ...}.
Result<Token> parseTokenResponse(std::string_view body);

// "user:pass" in base64 and back (Docker's "auth" field).
std::string encodeBasicAuth(std::string_view user, std::string_view pass);
Result<Credentials> decodeBasicAuth(std::string_view base64);

// The key Docker files a registry under: "https://index.docker.io/v1/" for Docker Hub, else the
// host[:port] as given.
std::string configKey(std::string_view domain);

// $DOCKER_CONFIG, else ~/.docker.
fs::path dockerConfigDir();

// ~/.docker/config.json, with every key it does not know kept as it was.
class DockerConfig {
 public:
  // A missing file is an empty config; an unreadable or malformed one is an error.
  static Result<DockerConfig> load(const fs::path& dir);
  static DockerConfig fromJson(OrderedJson json, fs::path dir = {});

  // The credentials for a registry domain: its credHelpers entry, else credsStore, else the
  // inline "auths" entry. nullopt when none is known.
  Result<std::optional<Credentials>> get(std::string_view domain) const;
  // Saves credentials where get() would look first (a helper's `store`, else "auths").
  Result<void> store(std::string_view domain, const Credentials& creds);
  // Removes them (helper `erase` and the "auths" entry). kNotFound when there were none.
  Result<void> erase(std::string_view domain);

  // The helper get() would use for a domain, "" for the inline "auths".
  std::string helperFor(std::string_view domain) const;
  // Writes config.json atomically with mode 0600 (the directory is made 0700 when missing).
  Result<void> save() const;
  const OrderedJson& json() const { return json_; }

 private:
  OrderedJson json_ = OrderedJson::object();
  fs::path dir_;
};

// Runs `docker-credential-<helper> <verb>` with `input` on stdin and returns its stdout.
// kNotFound when the helper says it has no credentials.
Result<std::string> runCredentialHelper(std::string_view helper, std::string_view verb,
                                        std::string_view input);

}  // namespace hull::registry
