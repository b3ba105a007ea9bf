// The functions of libcurl that hull calls, forwarded to libcurl.so.4 once it is loaded
// (curl_loader.h). Not exported from the executable, so they never stand in for libcurl's own.
#define CURL_DISABLE_TYPECHECK 1
#include "base/curl_loader.h"

#include <curl/curl.h>

#include <cstdarg>

#include "base/lazy_library.h"

namespace hull {
namespace {

// The options of *_setopt and *_getinfo take one argument each: a long, a curl_off_t, an object
// pointer or a function pointer. On the LP64 ABIs this runs on all four travel alike, so the
// argument is passed on as one pointer-sized word.
static_assert(sizeof(long) == sizeof(void*) && sizeof(curl_off_t) == sizeof(void*));

struct CurlApi {
  LazyLibrary lib{"libcurl.so.4", "libcurl", "libcurl4"};
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_free) free = nullptr;
  decltype(&::curl_share_init) share_init = nullptr;
  decltype(&::curl_share_setopt) share_setopt = nullptr;
  decltype(&::curl_share_cleanup) share_cleanup = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  decltype(&::curl_url) url = nullptr;
  decltype(&::curl_url_cleanup) url_cleanup = nullptr;
  decltype(&::curl_url_get) url_get = nullptr;
  decltype(&::curl_url_set) url_set = nullptr;

  CurlApi() {
    lib.finish(
        lib.bind(global_init, "curl_global_init") & lib.bind(easy_init, "curl_easy_init") &
        lib.bind(easy_setopt, "curl_easy_setopt") & lib.bind(easy_perform, "curl_easy_perform") &
        lib.bind(easy_cleanup, "curl_easy_cleanup") & lib.bind(easy_getinfo, "curl_easy_getinfo") &
        lib.bind(easy_strerror, "curl_easy_strerror") & lib.bind(free, "curl_free") &
        lib.bind(share_init, "curl_share_init") & lib.bind(share_setopt, "curl_share_setopt") &
        lib.bind(share_cleanup, "curl_share_cleanup") &
        lib.bind(slist_append, "curl_slist_append") &
        lib.bind(slist_free_all, "curl_slist_free_all") & lib.bind(url, "curl_url") &
        lib.bind(url_cleanup, "curl_url_cleanup") & lib.bind(url_get, "curl_url_get") &
        lib.bind(url_set, "curl_url_set"));
  }
};

// Loaded once, on the first call from any thread; never unloaded.
const CurlApi& curlApi() {
  static const CurlApi* loaded = new CurlApi();
  return *loaded;
}

bool curlReady() { return curlApi().lib.loaded(); }

void* oneArgument(va_list args) { return va_arg(args, void*); }

}  // namespace

std::string curlUnavailable() { return curlApi().lib.error(); }

Error curlInitError() { return curlApi().lib.callFailed("curl_easy_init"); }

}  // namespace hull

using hull::curlApi;
using hull::curlReady;

extern "C" {

CURLcode curl_global_init(long flags) {
  return curlReady() ? curlApi().global_init(flags) : CURLE_FAILED_INIT;
}

CURL* curl_easy_init() { return curlReady() ? curlApi().easy_init() : nullptr; }

CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  if (!curlReady()) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, option);
  void* value = hull::oneArgument(args);
  va_end(args);
  return curlApi().easy_setopt(curl, option, value);
}

CURLcode curl_easy_perform(CURL* curl) {
  return curlReady() ? curlApi().easy_perform(curl) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL* curl) {
  if (curlReady()) curlApi().easy_cleanup(curl);
}

CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  if (!curlReady()) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, info);
  void* out = hull::oneArgument(args);
  va_end(args);
  return curlApi().easy_getinfo(curl, info, out);
}

const char* curl_easy_strerror(CURLcode code) {
  return curlReady() ? curlApi().easy_strerror(code) : curlApi().lib.error().c_str();
}

void curl_free(void* p) {
  if (curlReady()) curlApi().free(p);
}

CURLSH* curl_share_init() { return curlReady() ? curlApi().share_init() : nullptr; }

CURLSHcode curl_share_setopt(CURLSH* share, CURLSHoption option, ...) {
  if (!curlReady()) return CURLSHE_NOT_BUILT_IN;
  va_list args;
  va_start(args, option);
  void* value = hull::oneArgument(args);
  va_end(args);
  return curlApi().share_setopt(share, option, value);
}

CURLSHcode curl_share_cleanup(CURLSH* share) {
  return curlReady() ? curlApi().share_cleanup(share) : CURLSHE_NOT_BUILT_IN;
}

curl_slist* curl_slist_append(curl_slist* list, const char* data) {
  return curlReady() ? curlApi().slist_append(list, data) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  if (curlReady()) curlApi().slist_free_all(list);
}

CURLU* curl_url() { return curlReady() ? curlApi().url() : nullptr; }

void curl_url_cleanup(CURLU* handle) {
  if (curlReady()) curlApi().url_cleanup(handle);
}

CURLUcode curl_url_get(CURLU* handle, CURLUPart what, char** part, unsigned int flags) {
  return curlReady() ? curlApi().url_get(handle, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode curl_url_set(CURLU* handle, CURLUPart what, const char* part, unsigned int flags) {
  return curlReady() ? curlApi().url_set(handle, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

}  // extern "C"
