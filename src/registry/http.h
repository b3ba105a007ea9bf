// A thin HTTP layer over libcurl for the registry client: one easy handle per transfer, one
// share handle (DNS cache, TLS sessions, connection pool) per registry client so that parallel
// transfers reuse keep-alive HTTP/1.1 connections. It reports transport failures as values
// (status 0 and a message) so the caller's retry policy can judge them; it throws nothing.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace hull::registry {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Basic credentials for this request only (the token server); "" for none.
  std::string basic_user, basic_password;
  // The body to send: a string, or a range of an open file (not owned) when body_fd >= 0.
  std::string body;
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_size = 0;
  // Where a 2xx answer's body goes; without a sink it is collected in HttpResponse::body, up
  // to max_body bytes (more fails the request with kCorrupt). Error bodies are always collected
  // (the first 64 KiB). A sink error stops the transfer and is returned as is.
  std::function<Result<void>(const char*, std::size_t)> sink;
  std::size_t max_body = 1 << 20;
  // Told the bytes of the request body sent so far (uploads), from curl's progress callback.
  std::function<void(int64_t)> upload_progress;
  bool follow_redirects = false;
  std::optional<int64_t> range_start;  // asks for bytes=N-
};

struct HttpResponse {
  long status = 0;              // 0: no HTTP answer (connection, TLS or timeout failure)
  std::string transport_error;  // curl's words when status is 0
  int curl_code = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower case; the final response's only
  std::string effective_url;                   // after redirects
  int64_t sink_bytes = 0;                      // bytes handed to the sink
  bool sink_skipped_prefix = false;            // a range request got a 200: the start was skipped

  std::string header(const std::string& lower_name) const;
};

struct HttpOptions {
  bool tls_verify = true;
  std::string user_agent;
};

class Http {
 public:
  explicit Http(HttpOptions options);
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // One attempt. Errors are only those of the sink or of curl's setup; everything the network
  // or the server did is in the response.
  Result<HttpResponse> send(const HttpRequest& request);

  const HttpOptions& options() const { return options_; }

 private:
  struct Share;
  void setTlsOptions(void* curl) const;
  HttpOptions options_;
  std::string ca_pem_;  // the environment's CA certificates; empty: libcurl's default
  std::unique_ptr<Share> share_;
};

// Percent-encodes a query value.
std::string urlEncode(std::string_view s);

}  // namespace hull::registry
