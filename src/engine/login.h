// `hull login` and `hull logout`: credentials for a registry, checked against it before they are
// saved in Docker's config.json (or the credential helper it names), so Docker, podman and hull
// share one login.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace hull::engine {

struct LoginOptions {
  std::string username;
  std::string password;
  bool tls_verify = true;
};

// "localhost:5000", "https://localhost:5000/", "docker.io", "" (Docker Hub) -> the domain the
// credentials are filed under.
Result<std::string> registryDomain(std::string_view text);

// Checks the credentials (GET /v2/, then the token server or basic auth), then saves them.
// Returns where they went: the config file's path or "docker-credential-NAME".
Result<std::string> login(std::string_view registry, const LoginOptions& options);

// Removes the saved credentials; kNotFound when there were none.
Result<void> logout(std::string_view registry);

}  // namespace hull::engine
