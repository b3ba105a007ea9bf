// Blob transfers of the distribution client: streamed downloads that resume with Range after a
// broken connection, and uploads (HEAD first, cross-repository mount, then one PUT for small
// blobs or PATCH chunks with Content-Range for large ones). Manifests go up last (putManifest).
#include <thread>

#include <fmt/format.h>

#include "registry/client.h"
#include "registry/http.h"

namespace hull::registry {
namespace {

bool isTransient(const Error& e) { return e.code == Errc::kIo || e.code == Errc::kBusy; }

bool retryableStatus(long status) {
  return status == 0 || status == 429 || (status >= 500 && status != 501);
}

std::string withDigest(const std::string& location, const Digest& d) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") +
         "digest=" + urlEncode(d.str());
}

}  // namespace

Result<void> Client::fetchAttempt(const std::string& repo, const oci::Descriptor& blob,
                                  const std::function<Result<void>(const char*, std::size_t)>& sink,
                                  int64_t& received, const Progress& progress, HttpResponse& last) {
  Call c;
  c.request.url = fmt::format("/v2/{}/blobs/{}", repo, blob.digest.str());
  c.request.follow_redirects = true;
  if (received > 0) c.request.range_start = received;
  c.request.sink = [&](const char* data, std::size_t n) -> Result<void> {
    if (received + static_cast<int64_t>(n) > blob.size) {
      return fail(Errc::kCorrupt, fmt::format("blob {}: more than the {} bytes its descriptor "
                                              "announces",
                                              blob.digest.str(), blob.size));
    }
    HULL_TRY(sink(data, n));
    received += static_cast<int64_t>(n);
    if (progress) progress(received);
    return {};
  };
  c.scopes = {scope(repo)};
  HULL_ASSIGN_OR_RETURN(last, call(c));
  return {};
}

Result<void> Client::fetchBlob(const std::string& repo, const oci::Descriptor& blob,
                               const std::function<Result<void>(const char*, std::size_t)>& sink,
                               const Progress& progress) {
  std::string what = fmt::format("blob {}", blob.digest.str());
  int64_t received = 0;
  int failures = 0, resumes = 0;
  while (true) {
    int64_t before = received;
    HttpResponse last;
    auto r = fetchAttempt(repo, blob, sink, received, progress, last);
    if (!r) return fail(r.error().wrap(what));
    bool ok_status = last.status == 200 || last.status == 206;
    if (ok_status && last.curl_code == 0) {
      if (received == blob.size) return {};
      if (received > blob.size || last.sink_bytes == 0) {
        return fail(Errc::kCorrupt, fmt::format("{}: {} bytes received, descriptor says {}", what,
                                                received, blob.size));
      }
    } else if (last.status != 0 && !retryableStatus(last.status)) {
      return fail(httpError(what, last));
    }
    // Cut short or refused for now: resume where it broke when bytes came, else back off.
    if (received > before && resumes < options_.max_resumes) {
      ++resumes;
      continue;
    }
    auto delay = retryDelay(++failures, options_.max_attempts, ok_status ? 0 : last.status,
                            parseRetryAfter(last.header("retry-after")));
    if (!delay) {
      if (ok_status) last.status = 0;
      if (last.transport_error.empty()) last.transport_error = "transfer ended early";
      return fail(httpError(what, last));
    }
    std::this_thread::sleep_for(*delay);
  }
}

Result<bool> Client::hasBlob(const std::string& repo, const Digest& digest) {
  Call c;
  c.request.method = "HEAD";
  c.request.url = fmt::format("/v2/{}/blobs/{}", repo, digest.str());
  c.request.follow_redirects = true;
  c.scopes = {scope(repo)};
  HULL_ASSIGN_OR_RETURN(HttpResponse resp, callRetry(c));
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  return fail(httpError(fmt::format("blob {}", digest.str()), resp));
}

Result<std::string> Client::startUpload(const std::string& repo, const oci::Descriptor& blob,
                                        const std::string& from_repo, bool& mounted) {
  Call c;
  c.request.method = "POST";
  c.request.url = fmt::format("/v2/{}/blobs/uploads/", repo);
  c.scopes = {scope(repo)};
  if (!from_repo.empty() && from_repo != repo) {
    c.request.url +=
        fmt::format("?mount={}&from={}", urlEncode(blob.digest.str()), urlEncode(from_repo));
    c.scopes.push_back(fmt::format("repository:{}:pull", from_repo));
  }
  HULL_ASSIGN_OR_RETURN(HttpResponse resp, callRetry(c));
  std::string what = fmt::format("upload of {}", blob.digest.str());
  mounted = resp.status == 201;
  if (mounted) return std::string();
  if (resp.status != 202) return fail(httpError(what, resp));
  std::string location = resp.header("location");
  if (location.empty()) {
    return fail(Errc::kInvalidArgument, what + ": the registry sent no upload Location");
  }
  return resolveLocation(location);
}

Result<void> Client::uploadBody(const std::string& repo, std::string location,
                                const oci::Descriptor& blob, int fd, const Progress& progress) {
  std::string what = fmt::format("upload of {}", blob.digest.str());
  auto send = [&](Call& c, long want) -> Result<HttpResponse> {
    HULL_ASSIGN_OR_RETURN(HttpResponse resp, call(c));
    if (resp.status != want) return fail(httpError(what, resp));
    return resp;
  };
  int64_t offset = 0;
  bool chunked = blob.size > options_.chunk_size;
  while (chunked && offset < blob.size) {
    int64_t n = std::min(options_.chunk_size, blob.size - offset);
    Call c;
    c.request.method = "PATCH";
    c.request.url = location;
    c.request.headers = {"Content-Type: application/octet-stream",
                         fmt::format("Content-Range: {}-{}", offset, offset + n - 1)};
    c.request.body_fd = fd;
    c.request.body_offset = offset;
    c.request.body_size = n;
    if (progress) c.request.upload_progress = [&](int64_t sent) { progress(offset + sent); };
    c.scopes = {scope(repo)};
    HULL_ASSIGN_OR_RETURN(HttpResponse resp, send(c, 202));
    if (std::string next = resp.header("location"); !next.empty()) {
      location = resolveLocation(next);
    }
    offset += n;
    if (progress) progress(offset);
  }
  Call put;
  put.request.method = "PUT";
  put.request.url = withDigest(location, blob.digest);
  put.request.headers = {"Content-Type: application/octet-stream"};
  if (!chunked) {
    put.request.body_fd = fd;
    put.request.body_size = blob.size;
    if (progress) put.request.upload_progress = progress;
  }
  put.scopes = {scope(repo)};
  HULL_TRY(send(put, 201));
  if (progress) progress(blob.size);
  return {};
}

Result<BlobPush> Client::pushBlob(const std::string& repo, const oci::Descriptor& blob, int fd,
                                  const std::string& from_repo, const Progress& progress) {
  HULL_ASSIGN_OR_RETURN(bool exists, hasBlob(repo, blob.digest));
  if (exists) return BlobPush::kExists;
  for (int attempt = 1;; ++attempt) {
    bool mounted = false;
    HULL_ASSIGN_OR_RETURN(std::string location, startUpload(repo, blob, from_repo, mounted));
    if (mounted) return BlobPush::kMounted;
    auto r = uploadBody(repo, location, blob, fd, progress);
    if (r) return BlobPush::kUploaded;
    // An upload session that broke is abandoned (the registry expires it) and a new one begun.
    auto delay =
        retryDelay(attempt, options_.max_attempts, isTransient(r.error()) ? 0 : 400, std::nullopt);
    if (!delay) return fail(r.error());
    std::this_thread::sleep_for(*delay);
  }
}

Result<Digest> Client::putManifest(const std::string& repo, const std::string& reference,
                                   std::string_view media_type, const std::string& bytes) {
  Call c;
  c.request.method = "PUT";
  c.request.url = fmt::format("/v2/{}/manifests/{}", repo, reference);
  c.request.headers = {fmt::format("Content-Type: {}", media_type)};
  c.request.body = bytes;
  c.scopes = {scope(repo)};
  std::string what = fmt::format("manifest {}/{}:{}", domain_, repo, reference);
  HULL_ASSIGN_OR_RETURN(HttpResponse resp, callRetry(c));
  if (resp.status != 201 && resp.status != 200) return fail(httpError(what, resp));
  Digest ours = Digest::ofBytes(bytes);
  if (std::string theirs = resp.header("docker-content-digest");
      !theirs.empty() && theirs != ours.str()) {
    return fail(Errc::kCorrupt, fmt::format("{}: the registry stored digest {}, expected {}", what,
                                            theirs, ours.str()));
  }
  return ours;
}

Result<void> Client::checkLogin() {
  HULL_TRY(ping());
  Call c;
  c.request.url = "/v2/";
  // A token with no repository scope is what `docker login` asks for.
  HULL_ASSIGN_OR_RETURN(HttpResponse resp, callRetry(c));
  if (resp.status == 200) return {};
  Error e = httpError(fmt::format("login to {}", domain_), resp);
  if (resp.status == 401) e.message += " (wrong user name or password?)";
  return fail(std::move(e));
}

}  // namespace hull::registry
