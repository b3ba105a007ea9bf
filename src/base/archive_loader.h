// libarchive, loaded on first use. `hull run`, `ps`, `exec` and the supervisor never read or
// write a tar, yet linking libarchive made each of them load nine libraries at start (libxml2
// with ICU, nettle, lzma, lz4, bz2, acl): ~1.5 ms of CPU at every start. archive_loader.cc
// defines the functions of libarchive that hull calls; the first call dlopen()s libarchive.so.13
// and each later call goes straight to it.
// When libarchive cannot be loaded its functions fail the way libarchive reports failure: the
// constructors return NULL, the others ARCHIVE_FATAL, and archive_error_string() says why.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace hull {

// Empty when libarchive is loaded (loading it if need be), else why it could not be.
std::string archiveUnavailable();

// The error for a constructor (archive_read_new, ...) that returned NULL: why libarchive is
// unavailable, else "`what` failed".
Error archiveNewError(std::string_view what);

}  // namespace hull
