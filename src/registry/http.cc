// libcurl glue (see http.h). Each send() owns one easy handle for its transfer; the share handle
// lets them reuse connections, TLS sessions and DNS answers, guarded by one mutex per kind of
// shared data as libcurl's share interface asks.
#include "registry/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "base/curl_loader.h"
#include "base/fs.h"

namespace hull::registry {
namespace {

constexpr std::size_t kMaxErrorBody = 64 << 10;

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  CURL* curl = nullptr;
  Error sink_error;
  bool sink_failed = false;
  bool too_large = false;
  int64_t to_skip = -1;  // -1: not decided yet (decided at the first body byte)
  int64_t read_pos = 0;  // of the request body
};

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();  // a new response (after a redirect or 100 Continue)
    return size * n;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response->headers[name] = std::string(value);
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  const HttpRequest& req = *t->request;
  HttpResponse& resp = *t->response;
  if (status < 200 || status >= 300) {
    if (resp.body.size() < kMaxErrorBody) {
      resp.body.append(data, std::min(len, kMaxErrorBody - resp.body.size()));
    }
    return len;
  }
  if (!req.sink) {
    if (resp.body.size() + len > req.max_body) {
      t->too_large = true;
      return 0;
    }
    resp.body.append(data, len);
    return len;
  }
  if (t->to_skip < 0) {
    // A server that ignores Range answers 200 with the whole blob: drop what we already have.
    t->to_skip = (req.range_start && status == 200) ? *req.range_start : 0;
    resp.sink_skipped_prefix = t->to_skip > 0;
  }
  std::size_t skip = static_cast<std::size_t>(std::min<int64_t>(t->to_skip, len));
  t->to_skip -= static_cast<int64_t>(skip);
  if (skip < len) {
    auto r = req.sink(data + skip, len - skip);
    if (!r) {
      t->sink_error = std::move(r).error();
      t->sink_failed = true;
      return 0;
    }
    resp.sink_bytes += static_cast<int64_t>(len - skip);
  }
  return len;
}

size_t onRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& req = *t->request;
  std::size_t want = size * n;
  if (req.body_fd < 0) {
    std::size_t left = req.body.size() - static_cast<std::size_t>(t->read_pos);
    std::size_t len = std::min(want, left);
    std::copy_n(req.body.data() + t->read_pos, len, buf);
    t->read_pos += static_cast<int64_t>(len);
    return len;
  }
  std::size_t left = static_cast<std::size_t>(req.body_size - t->read_pos);
  ssize_t got = ::pread(req.body_fd, buf, std::min(want, left), req.body_offset + t->read_pos);
  if (got < 0) return CURL_READFUNC_ABORT;
  t->read_pos += got;
  return static_cast<size_t>(got);
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(user);
  if (ulnow > 0) t->request->upload_progress(static_cast<int64_t>(ulnow));
  return 0;
}

int onSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  t->read_pos = offset;
  return CURL_SEEKFUNC_OK;
}

// The CA certificates the environment names: every file of CURL_CA_BUNDLE and SSL_CERT_FILE,
// joined (libcurl itself reads neither variable, and a machine may set one for its own CAs while
// a user adds a private CA with the other). Empty: libcurl's default bundle.
std::string caBundleFromEnv() {
  std::string pem;
  std::vector<std::string> seen;
  for (const char* name : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0' || std::find(seen.begin(), seen.end(), v) != seen.end()) {
      continue;
    }
    seen.emplace_back(v);
    if (auto text = readFile(v, 16u << 20)) pem += *text + "\n";
  }
  return pem;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct Http::Share {
  CURLSH* handle = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
};

Http::Http(HttpOptions options) : options_(std::move(options)), share_(std::make_unique<Share>()) {
  globalInit();
  ca_pem_ = caBundleFromEnv();
  share_->handle = curl_share_init();
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(share_->handle, CURLSHOPT_USERDATA, share_.get());
  curl_share_setopt(
      share_->handle, CURLSHOPT_LOCKFUNC,
      +[](CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<Share*>(user)->locks[data].lock();
      });
  curl_share_setopt(
      share_->handle, CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data data, void* user) {
        static_cast<Share*>(user)->locks[data].unlock();
      });
}

Http::~Http() {
  if (share_ && share_->handle != nullptr) curl_share_cleanup(share_->handle);
}

namespace {

void setBody(CURL* c, const HttpRequest& req, Transfer& t) {
  int64_t size = req.body_fd >= 0 ? req.body_size : static_cast<int64_t>(req.body.size());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, onRead);
  curl_easy_setopt(c, CURLOPT_READDATA, &t);
  curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, onSeek);
  curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
  if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  } else {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    if (req.method != "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

}  // namespace

namespace {

constexpr long kSinkBufferSize = 512L << 10;

// Options every transfer shares: protocol, timeouts, callbacks, redirects.
void setTransferOptions(CURL* c, const HttpRequest& req, Transfer& t, curl_slist* headers,
                        char* errbuf, const std::string& user_agent) {
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 KiB/s for 30 s) fails and is retried or resumed.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (req.sink) {
    // Streamed bodies are blobs: a larger receive buffer means fewer reads and sink calls
    // (libcurl's default is 16 KiB).
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, kSinkBufferSize);
  }
  // Redirects (blob storage): libcurl sends our Authorization header only to the original host
  // and port, so a token never leaks to the storage host (CURLOPT_UNRESTRICTED_AUTH stays off).
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  if (req.upload_progress) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }
  if (!req.basic_user.empty() || !req.basic_password.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, req.basic_user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, req.basic_password.c_str());
  }
}

void setMethod(CURL* c, const HttpRequest& req, Transfer& t) {
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    setBody(c, req, t);
  }
}

}  // namespace

void Http::setTlsOptions(void* handle) const {
  CURL* c = handle;
  if (!options_.tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!ca_pem_.empty()) {
    // CURL_BLOB_COPY: libcurl keeps its own copy, so the struct may live on the stack.
    curl_blob blob{
        .data = const_cast<char*>(ca_pem_.data()), .len = ca_pem_.size(), .flags = CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (const char* dir = std::getenv("SSL_CERT_DIR"); dir != nullptr && *dir != '\0') {
    curl_easy_setopt(c, CURLOPT_CAPATH, dir);
  }
}

Result<HttpResponse> Http::send(const HttpRequest& req) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) return fail(curlInitError());
  CURL* c = easy.get();
  HttpResponse resp;
  Transfer t;
  t.request = &req;
  t.response = &resp;
  t.curl = c;
  curl_slist* list = nullptr;
  for (const auto& h : req.headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(list, curl_slist_free_all);
  std::string range = req.range_start ? fmt::format("{}-", *req.range_start) : "";
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_SHARE, share_->handle);
  setTransferOptions(c, req, t, headers.get(), errbuf, options_.user_agent);
  setTlsOptions(c);
  if (req.range_start) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  setMethod(c, req, t);

  CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  char* effective = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
    resp.effective_url = effective;
  }
  resp.curl_code = code;
  if (t.sink_failed) return fail(std::move(t.sink_error));
  if (t.too_large) {
    return fail(Errc::kCorrupt,
                fmt::format("{}: answer larger than {} bytes", req.url, req.max_body));
  }
  if (code != CURLE_OK) {
    resp.transport_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
    // A transfer cut short after the status line is still a transport failure to retry.
    if (code != CURLE_HTTP_RETURNED_ERROR) resp.status = 0;
  }
  return resp;
}

std::string urlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace hull::registry
