// An OCI Distribution Spec 1.1 client for one registry: the /v2/ ping (which picks https or,
// where allowed, http), bearer-token and basic auth, manifests, streamed blob downloads with
// resume, and blob uploads (existence check, cross-repository mount, monolithic or chunked).
// Thread-safe: the pull and push use cases run several transfers at once on one client.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/result.h"
#include "oci/image.h"
#include "registry/auth.h"
#include "registry/http.h"
#include "registry/policy.h"

namespace hull::registry {

struct ClientOptions {
  // false: no certificate checks, and plain http when the registry does not speak TLS (as for
  // a registry listed in HULL_INSECURE_REGISTRIES).
  bool tls_verify = true;
  int max_attempts = 3;
  int max_resumes = 5;  // Range requests after a download was cut short
  // Blobs larger than this go up in PATCH chunks of this size ($HULL_PUSH_CHUNK_SIZE).
  int64_t chunk_size = 32 << 20;
  std::optional<Credentials> credentials;
};

// The insecure registries named in $HULL_INSECURE_REGISTRIES (comma-separated host[:port]).
bool isInsecureRegistry(std::string_view domain);

struct FetchedManifest {
  std::string bytes;
  ManifestType type;
  Digest digest;  // of bytes (checked against what was asked for or announced)
};

enum class BlobPush { kExists, kMounted, kUploaded };

using Progress = std::function<void(int64_t done)>;

class Client {
 public:
  // domain: a reference's domain ("docker.io" talks to registry-1.docker.io).
  Client(std::string domain, ClientOptions options);

  const std::string& domain() const { return domain_; }
  // GET /v2/: picks the scheme and learns how the registry wants to be authenticated. Every
  // other request calls it first; it runs once.
  Result<void> ping();
  // What `docker login` checks: with a bearer challenge a token (no repository scope) is
  // fetched with the credentials, with a basic one /v2/ is asked again with them.
  Result<void> checkLogin();

  Result<FetchedManifest> getManifest(const std::string& repo, const std::string& reference);
  // Streams a blob into sink, resuming with Range requests when the connection breaks. The
  // sink sees every byte once, in order; bytes beyond the descriptor's size fail.
  Result<void> fetchBlob(const std::string& repo, const oci::Descriptor& blob,
                         const std::function<Result<void>(const char*, std::size_t)>& sink,
                         const Progress& progress = {});

  Result<bool> hasBlob(const std::string& repo, const Digest& digest);
  // Uploads the bytes of an open file unless the registry has them; mounts from `from_repo`
  // (same registry) when given.
  Result<BlobPush> pushBlob(const std::string& repo, const oci::Descriptor& blob, int fd,
                            const std::string& from_repo, const Progress& progress = {});
  // PUT the manifest; returns the digest the registry names it by.
  Result<Digest> putManifest(const std::string& repo, const std::string& reference,
                             std::string_view media_type, const std::string& bytes);

  // The action set every token is asked for: "pull" or "pull,push".
  void setPushAccess(bool push) { actions_ = push ? "pull,push" : "pull"; }

 private:
  struct Call {
    HttpRequest request;
    std::vector<std::string> scopes;  // "repository:NAME:ACTIONS"
  };
  Result<HttpResponse> call(Call& call);       // auth, one re-auth on 401, no retries
  Result<HttpResponse> callRetry(Call& call);  // plus retries (idempotent requests only)
  Result<std::string> authorization(const std::vector<std::string>& scopes, bool refresh);
  Result<Token> fetchToken(const Challenge& ch, const std::vector<std::string>& scopes);
  Result<HttpResponse> pingOnce(const std::string& scheme);
  Result<std::string> startUpload(const std::string& repo, const oci::Descriptor& blob,
                                  const std::string& from_repo, bool& mounted);
  Result<void> uploadBody(const std::string& repo, std::string location,
                          const oci::Descriptor& blob, int fd, const Progress& progress);
  Result<void> fetchAttempt(const std::string& repo, const oci::Descriptor& blob,
                            const std::function<Result<void>(const char*, std::size_t)>& sink,
                            int64_t& received, const Progress& progress, HttpResponse& last);
  std::string url(const std::string& path) const;
  std::string resolveLocation(const std::string& location) const;
  std::string scope(const std::string& repo) const;
  Error httpError(std::string_view what, const HttpResponse& r) const;

  std::string domain_;
  ClientOptions options_;
  Http http_;
  std::string actions_ = "pull";

  std::mutex mu_;  // guards what follows
  bool pinged_ = false;
  std::string base_;  // "https://host:port"
  std::optional<Challenge> challenge_;
  struct CachedToken {
    std::string token;
    std::chrono::steady_clock::time_point renew_at;  // a little before it expires
  };
  std::map<std::string, CachedToken> tokens_;  // by scopes joined with ' '
};

// A client for a registry with the user's settings: credentials from Docker's config.json
// (dockerConfigDir()), $HULL_PUSH_CHUNK_SIZE, and tls_verify (false: --tls-verify=false).
Result<std::unique_ptr<Client>> openClient(const std::string& domain, bool tls_verify);

}  // namespace hull::registry
