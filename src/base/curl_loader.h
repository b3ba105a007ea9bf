// libcurl, loaded on first use. Most hull commands (run, ps, exec, the supervisor) never touch the
// network, yet linking libcurl made each of them load some thirty libraries (TLS, Kerberos, LDAP,
// SSH) at start: ~2.5 ms of every start. curl_loader.cc defines libcurl's functions that hull
// calls; the first call dlopen()s libcurl.so.4 and each later call goes straight to it.
// When libcurl cannot be loaded those functions fail the way libcurl reports failure (NULL
// handles, CURLE_FAILED_INIT), and curlUnavailable() says why.
#pragma once

#include <string>

#include "base/result.h"

namespace hull {

// Empty when libcurl is loaded (loading it if need be), else why it could not be.
std::string curlUnavailable();

// The error for a curl_easy_init() that returned NULL: why libcurl is unavailable, else libcurl's
// own failure.
Error curlInitError();

}  // namespace hull
