// The functions of libarchive that hull calls, forwarded to libarchive.so.13 once it is loaded
// (archive_loader.h). Not exported from the executable, so they never stand in for libarchive's
// own. A definition whose signature differs from archive.h's is a compile error.
#include "base/archive_loader.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstdarg>
#include <cstdio>

#include "base/lazy_library.h"

namespace hull {
namespace {

// X(result, name, (parameters), (arguments), result when libarchive cannot be loaded); hull's
// own calls and those of its tests.
#define HULL_ARCHIVE_FUNCTIONS(X)                                                                  \
  X(int, archive_entry_atime_is_set, (archive_entry * e), (e), 0)                                  \
  X(void, archive_entry_copy_stat, (archive_entry * e, const struct stat* st), (e, st), void())    \
  X(__LA_MODE_T, archive_entry_filetype, (archive_entry * e), (e), 0)                              \
  X(void, archive_entry_free, (archive_entry * e), (e), void())                                    \
  X(la_int64_t, archive_entry_gid, (archive_entry * e), (e), 0)                                    \
  X(const char*, archive_entry_hardlink, (archive_entry * e), (e), nullptr)                        \
  X(time_t, archive_entry_mtime, (archive_entry * e), (e), 0)                                      \
  X(long, archive_entry_mtime_nsec, (archive_entry * e), (e), 0)                                   \
  X(archive_entry*, archive_entry_new, (void), (), nullptr)                                        \
  X(const char*, archive_entry_pathname, (archive_entry * e), (e), nullptr)                        \
  X(__LA_MODE_T, archive_entry_perm, (archive_entry * e), (e), 0)                                  \
  X(dev_t, archive_entry_rdevmajor, (archive_entry * e), (e), 0)                                   \
  X(dev_t, archive_entry_rdevminor, (archive_entry * e), (e), 0)                                   \
  X(void, archive_entry_set_dev, (archive_entry * e, dev_t v), (e, v), void())                     \
  X(void, archive_entry_set_filetype, (archive_entry * e, unsigned int v), (e, v), void())         \
  X(void, archive_entry_set_gid, (archive_entry * e, la_int64_t v), (e, v), void())                \
  X(void, archive_entry_set_hardlink, (archive_entry * e, const char* v), (e, v), void())          \
  X(void, archive_entry_set_ino64, (archive_entry * e, la_int64_t v), (e, v), void())              \
  X(void, archive_entry_set_mtime, (archive_entry * e, time_t s, long ns), (e, s, ns), void())     \
  X(void, archive_entry_set_nlink, (archive_entry * e, unsigned int v), (e, v), void())            \
  X(void, archive_entry_set_pathname, (archive_entry * e, const char* v), (e, v), void())          \
  X(void, archive_entry_set_perm, (archive_entry * e, __LA_MODE_T v), (e, v), void())              \
  X(void, archive_entry_set_size, (archive_entry * e, la_int64_t v), (e, v), void())               \
  X(void, archive_entry_set_symlink, (archive_entry * e, const char* v), (e, v), void())           \
  X(void, archive_entry_set_uid, (archive_entry * e, la_int64_t v), (e, v), void())                \
  X(la_int64_t, archive_entry_size, (archive_entry * e), (e), 0)                                   \
  X(const char*, archive_entry_symlink, (archive_entry * e), (e), nullptr)                         \
  X(la_int64_t, archive_entry_uid, (archive_entry * e), (e), 0)                                    \
  X(const char*, archive_entry_uname, (archive_entry * e), (e), nullptr)                           \
  X(void, archive_entry_unset_atime, (archive_entry * e), (e), void())                             \
  X(void, archive_entry_unset_birthtime, (archive_entry * e), (e), void())                         \
  X(void, archive_entry_unset_ctime, (archive_entry * e), (e), void())                             \
  X(void, archive_entry_xattr_add_entry,                                                           \
    (archive_entry * e, const char* name, const void* value, size_t size), (e, name, value, size), \
    void())                                                                                        \
  X(int, archive_entry_xattr_next,                                                                 \
    (archive_entry * e, const char** name, const void** value, size_t* size),                      \
    (e, name, value, size), ARCHIVE_WARN)                                                          \
  X(int, archive_entry_xattr_reset, (archive_entry * e), (e), 0)                                   \
  X(la_ssize_t, archive_read_data, (archive * a, void* buf, size_t size), (a, buf, size),          \
    ARCHIVE_FATAL)                                                                                 \
  X(int, archive_read_data_block,                                                                  \
    (archive * a, const void** buf, size_t* size, la_int64_t* offset), (a, buf, size, offset),     \
    ARCHIVE_FATAL)                                                                                 \
  X(int, archive_read_data_skip, (archive * a), (a), ARCHIVE_FATAL)                                \
  X(int, archive_read_free, (archive * a), (a), ARCHIVE_OK)                                        \
  X(archive*, archive_read_new, (void), (), nullptr)                                               \
  X(int, archive_read_next_header, (archive * a, archive_entry * *e), (a, e), ARCHIVE_FATAL)       \
  X(int, archive_read_open,                                                                        \
    (archive * a, void* data, archive_open_callback* open, archive_read_callback* read,            \
     archive_close_callback* close),                                                               \
    (a, data, open, read, close), ARCHIVE_FATAL)                                                   \
  X(int, archive_read_open_memory, (archive * a, const void* buf, size_t size), (a, buf, size),    \
    ARCHIVE_FATAL)                                                                                 \
  X(int, archive_read_open_fd, (archive * a, int fd, size_t block_size), (a, fd, block_size),      \
    ARCHIVE_FATAL)                                                                                 \
  X(int, archive_read_open_filename, (archive * a, const char* name, size_t block_size),           \
    (a, name, block_size), ARCHIVE_FATAL)                                                          \
  X(int, archive_read_support_filter_all, (archive * a), (a), ARCHIVE_FATAL)                       \
  X(int, archive_read_support_filter_bzip2, (archive * a), (a), ARCHIVE_FATAL)                     \
  X(int, archive_read_support_filter_gzip, (archive * a), (a), ARCHIVE_FATAL)                      \
  X(int, archive_read_support_filter_none, (archive * a), (a), ARCHIVE_FATAL)                      \
  X(int, archive_read_support_filter_xz, (archive * a), (a), ARCHIVE_FATAL)                        \
  X(int, archive_read_support_filter_zstd, (archive * a), (a), ARCHIVE_FATAL)                      \
  X(int, archive_read_support_format_gnutar, (archive * a), (a), ARCHIVE_FATAL)                    \
  X(int, archive_read_support_format_raw, (archive * a), (a), ARCHIVE_FATAL)                       \
  X(int, archive_read_support_format_tar, (archive * a), (a), ARCHIVE_FATAL)                       \
  X(int, archive_write_add_filter_bzip2, (archive * a), (a), ARCHIVE_FATAL)                        \
  X(int, archive_write_add_filter_gzip, (archive * a), (a), ARCHIVE_FATAL)                         \
  X(int, archive_write_add_filter_xz, (archive * a), (a), ARCHIVE_FATAL)                           \
  X(int, archive_write_add_filter_zstd, (archive * a), (a), ARCHIVE_FATAL)                         \
  X(int, archive_write_close, (archive * a), (a), ARCHIVE_FATAL)                                   \
  X(la_ssize_t, archive_write_data, (archive * a, const void* buf, size_t size), (a, buf, size),   \
    ARCHIVE_FATAL)                                                                                 \
  X(int, archive_write_free, (archive * a), (a), ARCHIVE_OK)                                       \
  X(int, archive_write_header, (archive * a, archive_entry * e), (a, e), ARCHIVE_FATAL)            \
  X(archive*, archive_write_new, (void), (), nullptr)                                              \
  X(int, archive_write_open2,                                                                      \
    (archive * a, void* data, archive_open_callback* open, archive_write_callback* write,          \
     archive_close_callback* close, archive_free_callback* free),                                  \
    (a, data, open, write, close, free), ARCHIVE_FATAL)                                            \
  X(int, archive_write_open_filename, (archive * a, const char* name), (a, name), ARCHIVE_FATAL)   \
  X(int, archive_write_set_bytes_in_last_block, (archive * a, int bytes), (a, bytes),              \
    ARCHIVE_FATAL)                                                                                 \
  X(int, archive_write_set_bytes_per_block, (archive * a, int bytes), (a, bytes), ARCHIVE_FATAL)   \
  X(int, archive_write_set_format_pax_restricted, (archive * a), (a), ARCHIVE_FATAL)

struct ArchiveApi {
  LazyLibrary lib{"libarchive.so.13", "libarchive", "libarchive13"};
  decltype(&::archive_error_string) archive_error_string = nullptr;
  decltype(&::archive_set_error) archive_set_error = nullptr;
#define HULL_ARCHIVE_MEMBER(R, name, params, args, fallback) decltype(&::name) name = nullptr;
  HULL_ARCHIVE_FUNCTIONS(HULL_ARCHIVE_MEMBER)
#undef HULL_ARCHIVE_MEMBER

  ArchiveApi() {
    bool ok = lib.bind(archive_error_string, "archive_error_string") &
              lib.bind(archive_set_error, "archive_set_error");
#define HULL_ARCHIVE_BIND(R, name, params, args, fallback) ok = lib.bind(name, #name) && ok;
    HULL_ARCHIVE_FUNCTIONS(HULL_ARCHIVE_BIND)
#undef HULL_ARCHIVE_BIND
    lib.finish(ok);
  }
};

// Loaded once, on the first call from any thread; never unloaded.
const ArchiveApi& archiveApi() {
  static const ArchiveApi* loaded = new ArchiveApi();
  return *loaded;
}

bool archiveReady() { return archiveApi().lib.loaded(); }

}  // namespace

std::string archiveUnavailable() { return archiveApi().lib.error(); }

Error archiveNewError(std::string_view what) { return archiveApi().lib.callFailed(what); }

}  // namespace hull

using hull::archiveApi;
using hull::archiveReady;

extern "C" {

#define HULL_ARCHIVE_FORWARD(R, name, params, args, fallback) \
  R name params { return archiveReady() ? archiveApi().name args : fallback; }
HULL_ARCHIVE_FUNCTIONS(HULL_ARCHIVE_FORWARD)
#undef HULL_ARCHIVE_FORWARD

// Why an archive failed; when libarchive is missing, that is why (every error path of hull's
// reads it).
const char* archive_error_string(archive* a) {
  return archiveReady() ? archiveApi().archive_error_string(a) : archiveApi().lib.error().c_str();
}

// hull passes one message ("%s", text): formatted here, handed on as that.
void archive_set_error(archive* a, int err, const char* format, ...) {
  if (!archiveReady()) return;
  char message[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  archiveApi().archive_set_error(a, err, "%s", message);
}

}  // extern "C"
