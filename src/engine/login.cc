// `hull login` / `hull logout` (see login.h).
#include "engine/login.h"

#include <fmt/format.h>

#include "registry/auth.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace hull::engine {

Result<std::string> registryDomain(std::string_view text) {
  std::string_view s = text;
  if (std::size_t p = s.find("://"); p != std::string_view::npos) s.remove_prefix(p + 3);
  s = s.substr(0, s.find('/'));
  if (s.empty()) return std::string(registry::kDockerHubDomain);
  // The same check a reference's domain gets: parse "DOMAIN/x".
  auto ref = registry::parseReference(fmt::format("{}/x", s));
  bool is_domain = s.find_first_of(".:") != std::string_view::npos || s == "localhost";
  if (!ref || !is_domain) {
    return fail(Errc::kInvalidArgument,
                fmt::format("\"{}\" is not a registry address (HOST[:PORT])", text));
  }
  return ref->domain;
}

Result<std::string> login(std::string_view registry_text, const LoginOptions& options) {
  HULL_ASSIGN_OR_RETURN(std::string domain, registryDomain(registry_text));
  if (options.username.empty() || options.password.empty()) {
    return fail(Errc::kInvalidArgument, "login: a user name and a password are needed");
  }
  registry::Credentials creds{
      .username = options.username, .password = options.password, .identity_token = {}};
  registry::ClientOptions client_options;
  client_options.tls_verify = options.tls_verify;
  client_options.credentials = creds;
  registry::Client client(domain, client_options);
  HULL_TRY(client.checkLogin());
  fs::path dir = registry::dockerConfigDir();
  HULL_ASSIGN_OR_RETURN(registry::DockerConfig config, registry::DockerConfig::load(dir));
  HULL_TRY(config.store(domain, creds));
  if (std::string helper = config.helperFor(domain); !helper.empty()) {
    return "docker-credential-" + helper;
  }
  HULL_TRY(config.save());
  return (dir / "config.json").string();
}

Result<void> logout(std::string_view registry_text) {
  HULL_ASSIGN_OR_RETURN(std::string domain, registryDomain(registry_text));
  fs::path dir = registry::dockerConfigDir();
  HULL_ASSIGN_OR_RETURN(registry::DockerConfig config, registry::DockerConfig::load(dir));
  HULL_TRY(config.erase(domain));
  return config.save();
}

}  // namespace hull::engine
