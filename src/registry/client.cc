// The distribution client (see client.h). Every request goes through call(): it pings once,
// attaches the credentials the registry asked for (a bearer token per scope set, cached, or
// basic), and on a 401 learns the scope the registry wants and tries once more with a fresh
// token. callRetry() adds the retry policy of policy.h for requests that may be repeated.
#include "registry/client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "registry/reference.h"

namespace hull::registry {
namespace {

bool isTlsFailure(int code) {
  return code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION ||
         code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CERTPROBLEM;
}

std::string joinQuery(const std::string& url, std::string_view query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(query);
}

void sleepFor(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

}  // namespace

bool isInsecureRegistry(std::string_view domain) {
  const char* env = std::getenv("HULL_INSECURE_REGISTRIES");
  if (env == nullptr) return false;
  std::string_view list = env;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && normalizeDomain(item) == domain) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

Result<std::unique_ptr<Client>> openClient(const std::string& domain, bool tls_verify) {
  ClientOptions options;
  options.tls_verify = tls_verify;
  HULL_ASSIGN_OR_RETURN(DockerConfig config, DockerConfig::load(dockerConfigDir()));
  HULL_ASSIGN_OR_RETURN(options.credentials, config.get(domain));
  if (const char* env = std::getenv("HULL_PUSH_CHUNK_SIZE"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    long long n = std::strtoll(env, &end, 10);
    if (end == env || *end != '\0' || n < 1) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("HULL_PUSH_CHUNK_SIZE=\"{}\": expected a byte count", env));
    }
    options.chunk_size = n;
  }
  return std::make_unique<Client>(domain, std::move(options));
}

Client::Client(std::string domain, ClientOptions options)
    : domain_(std::move(domain)),
      options_(std::move(options)),
      http_(HttpOptions{.tls_verify = options_.tls_verify && !isInsecureRegistry(domain_),
                        .user_agent = "hull/0.1"}) {}

std::string Client::url(const std::string& path) const { return base_ + path; }

std::string Client::resolveLocation(const std::string& location) const {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("/")) return base_ + location;
  return base_ + "/" + location;
}

std::string Client::scope(const std::string& repo) const {
  return fmt::format("repository:{}:{}", repo, actions_);
}

Error Client::httpError(std::string_view what, const HttpResponse& r) const {
  if (r.status == 0) {
    std::string hint;
    if (isTlsFailure(r.curl_code)) {
      hint =
          " (if the registry uses a private CA, point SSL_CERT_FILE at it; "
          "--tls-verify=false skips the check)";
    }
    return Error{Errc::kIo, fmt::format("{}: {}{}", what, r.transport_error, hint)};
  }
  Errc code = Errc::kIo;
  if (r.status == 401 || r.status == 403) code = Errc::kPermission;
  if (r.status == 404) code = Errc::kNotFound;
  if (r.status == 429) code = Errc::kBusy;
  if (r.status >= 400 && r.status < 500 && r.status != 401 && r.status != 403 && r.status != 404 &&
      r.status != 429) {
    code = Errc::kInvalidArgument;
  }
  std::string hint;
  if (r.status == 401 && !options_.credentials) {
    hint = fmt::format(" (log in with `hull login {}`)", domain_);
  }
  return Error{code,
               fmt::format("{}: {}{}", what,
                           describeHttpError(r.status, r.header("content-type"), r.body), hint)};
}

Result<HttpResponse> Client::pingOnce(const std::string& scheme) {
  HttpRequest req;
  req.url = fmt::format("{}://{}/v2/", scheme,
                        domain_ == kDockerHubDomain ? std::string(kDockerHubHost) : domain_);
  for (int attempt = 1;; ++attempt) {
    HULL_ASSIGN_OR_RETURN(HttpResponse resp, http_.send(req));
    auto delay = retryDelay(attempt, options_.max_attempts, resp.status,
                            parseRetryAfter(resp.header("retry-after")));
    // A TLS failure will not heal by itself; the caller may fall back to http.
    if (!delay || (resp.status == 0 && isTlsFailure(resp.curl_code))) return resp;
    sleepFor(*delay);
  }
}

Result<void> Client::ping() {
  std::lock_guard lock(mu_);
  if (pinged_) return {};
  std::string host = domain_ == kDockerHubDomain ? std::string(kDockerHubHost) : domain_;
  bool insecure = !options_.tls_verify || isInsecureRegistry(domain_);
  HULL_ASSIGN_OR_RETURN(HttpResponse resp, pingOnce("https"));
  base_ = "https://" + host;
  // Docker's rule: insecure registries may speak plain http; a registry on this machine may
  // too, unless it spoke TLS with a certificate that does not verify (that stays an error).
  bool plain =
      resp.status == 0 &&
      (insecure || (isLoopbackDomain(domain_) && resp.curl_code != CURLE_PEER_FAILED_VERIFICATION));
  if (plain) {
    HULL_ASSIGN_OR_RETURN(HttpResponse http, pingOnce("http"));
    if (http.status != 0) {
      resp = std::move(http);
      base_ = "http://" + host;
    }
  }
  std::string what = fmt::format("registry {}", domain_);
  if (resp.status == 0) return fail(httpError(what, resp));
  if (resp.status == 401) {
    auto challenges = parseWwwAuthenticate(resp.header("www-authenticate"));
    if (!challenges) {
      Error e = httpError(what, resp);
      e.message += fmt::format(" (no usable challenge: {})", challenges.error().message);
      return fail(std::move(e));
    }
    for (const char* want : {"bearer", "basic"}) {
      for (const auto& ch : *challenges) {
        if (ch.scheme == want && !challenge_) challenge_ = ch;
      }
    }
    if (!challenge_) {
      return fail(Errc::kUnsupported, fmt::format("{}: unsupported authentication scheme \"{}\"",
                                                  what, challenges->front().scheme));
    }
  } else if (resp.status == 404) {
    return fail(Errc::kNotFound,
                fmt::format("{}: GET /v2/ answered 404: not an OCI distribution registry", what));
  } else if (resp.status != 200) {
    return fail(httpError(what, resp));
  }
  pinged_ = true;
  return {};
}

Result<Token> Client::fetchToken(const Challenge& ch, const std::vector<std::string>& scopes) {
  auto realm_it = ch.params.find("realm");
  if (realm_it == ch.params.end() ||
      !(realm_it->second.starts_with("https://") || realm_it->second.starts_with("http://"))) {
    return fail(Errc::kInvalidArgument,
                fmt::format("registry {}: bearer challenge without an http(s) realm", domain_));
  }
  std::string service = ch.params.contains("service") ? ch.params.at("service") : "";
  const auto& creds = options_.credentials;
  HttpRequest req;
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh token (what `docker login` to some registries leaves).
    req.method = "POST";
    req.url = realm_it->second;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = fmt::format(
        "grant_type=refresh_token&client_id=hull&service={}&scope={}"
        "&refresh_token={}",
        urlEncode(service), urlEncode(fmt::format("{}", fmt::join(scopes, " "))),
        urlEncode(creds->identity_token));
  } else {
    std::string query = "service=" + urlEncode(service);
    for (const auto& s : scopes) query += "&scope=" + urlEncode(s);
    req.url = joinQuery(realm_it->second, query);
    if (creds) {
      req.basic_user = creds->username;
      req.basic_password = creds->password;
    }
  }
  std::string what = fmt::format("registry {}: token from {}", domain_, realm_it->second);
  for (int attempt = 1;; ++attempt) {
    HULL_ASSIGN_OR_RETURN(HttpResponse resp, http_.send(req));
    if (resp.status == 200) {
      auto token = parseTokenResponse(resp.body);
      if (!token) return fail(token.error().wrap(what));
      return *token;
    }
    auto delay = retryDelay(attempt, options_.max_attempts, resp.status,
                            parseRetryAfter(resp.header("retry-after")));
    if (!delay) {
      Error e = httpError(what, resp);
      if (resp.status == 401)
        e.message += creds ? " (wrong user name or password?)" : " (log in with `hull login`)";
      return fail(std::move(e));
    }
    sleepFor(*delay);
  }
}

Result<std::string> Client::authorization(const std::vector<std::string>& scopes, bool refresh) {
  std::lock_guard lock(mu_);
  if (!challenge_) return std::string();
  const auto& creds = options_.credentials;
  if (challenge_->scheme == "basic") {
    if (!creds) return std::string();
    return "Basic " + encodeBasicAuth(creds->username, creds->password);
  }
  std::string key = fmt::format("{}", fmt::join(scopes, " "));
  if (!refresh) {
    auto it = tokens_.find(key);
    if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.renew_at) {
      return "Bearer " + it->second.token;
    }
  }
  HULL_ASSIGN_OR_RETURN(Token token, fetchToken(*challenge_, scopes));
  // Renewed 10 s early so that a request never starts with a token about to lapse.
  auto life = std::chrono::seconds(std::max<int64_t>(token.expires_in - 10, 1));
  tokens_[key] = {token.token, std::chrono::steady_clock::now() + life};
  return "Bearer " + token.token;
}

Result<HttpResponse> Client::call(Call& c) {
  HULL_TRY(ping());
  HttpRequest req = c.request;
  req.url = c.request.url.starts_with("/") ? url(c.request.url) : c.request.url;
  HULL_ASSIGN_OR_RETURN(std::string auth, authorization(c.scopes, false));
  HttpRequest first = req;
  if (!auth.empty()) first.headers.push_back("Authorization: " + auth);
  HULL_ASSIGN_OR_RETURN(HttpResponse resp, http_.send(first));
  if (resp.status != 401 || !challenge_) return resp;
  // The registry may want another scope (a mount's source repository, say): take it from its
  // challenge and try once more with a fresh token.
  if (auto chs = parseWwwAuthenticate(resp.header("www-authenticate")); chs) {
    for (const auto& ch : *chs) {
      auto s = ch.params.find("scope");
      if (ch.scheme != "bearer" || s == ch.params.end()) continue;
      if (std::find(c.scopes.begin(), c.scopes.end(), s->second) == c.scopes.end()) {
        c.scopes.push_back(s->second);
      }
    }
  }
  HULL_ASSIGN_OR_RETURN(auth, authorization(c.scopes, true));
  if (!auth.empty()) req.headers.push_back("Authorization: " + auth);
  return http_.send(req);
}

Result<HttpResponse> Client::callRetry(Call& c) {
  for (int attempt = 1;; ++attempt) {
    HULL_ASSIGN_OR_RETURN(HttpResponse resp, call(c));
    auto delay = retryDelay(attempt, options_.max_attempts, resp.status,
                            parseRetryAfter(resp.header("retry-after")));
    if (!delay || (resp.status >= 200 && resp.status < 300)) return resp;
    sleepFor(*delay);
  }
}

Result<FetchedManifest> Client::getManifest(const std::string& repo, const std::string& reference) {
  Call c;
  c.request.url = fmt::format("/v2/{}/manifests/{}", repo, reference);
  c.request.headers.push_back("Accept: " + manifestAccept());
  c.request.max_body = kMaxManifestSize;
  c.scopes = {scope(repo)};
  std::string what = fmt::format("manifest {}/{}:{}", domain_, repo, reference);
  if (reference.starts_with("sha256:"))
    what = fmt::format("manifest {}/{}@{}", domain_, repo, reference);
  auto resp = callRetry(c);
  if (!resp) return fail(resp.error().wrap(what));
  if (resp->status != 200) return fail(httpError(what, *resp));
  std::string ct = resp->header("content-type");
  if (ct.find("text/html") != std::string::npos) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: {}", what, describeHttpError(resp->status, ct, resp->body)));
  }
  FetchedManifest m;
  m.digest = Digest::ofBytes(resp->body);
  auto type = classifyManifest(ct, resp->body);
  if (!type) return fail(type.error().wrap(what));
  m.type = *type;
  std::vector<std::string> expected;
  if (reference.starts_with("sha256:")) expected.push_back(reference);
  if (std::string d = resp->header("docker-content-digest"); d.starts_with("sha256:")) {
    expected.push_back(d);
  }
  for (const auto& e : expected) {
    if (e != m.digest.str()) {
      return fail(Errc::kCorrupt,
                  fmt::format("{}: content has digest {}, expected {}", what, m.digest.str(), e));
    }
  }
  m.bytes = std::move(resp->body);
  return m;
}

}  // namespace hull::registry
