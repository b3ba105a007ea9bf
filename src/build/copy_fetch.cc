// ADD's extra sources: http(s) URLs downloaded with libcurl (checked against --checksum), and
// local tar archives (plain, gzip, bzip2, xz, zstd) extracted through the layer module's safe
// apply, so an archive's "../" names, absolute symlinks and hard links cannot leave the root.
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "base/archive_loader.h"
#include "base/curl_loader.h"
#include "base/scope_exit.h"
#include "build/copy_internal.h"
#include "dockerfile/dockerignore.h"
#include "layer/layer.h"

namespace hull::build::detail {

bool isUrl(std::string_view source) {
  return source.starts_with("http://") || source.starts_with("https://");
}

// Docker's rule (moby's urlutil.IsGitURL): git@, git://, or an http(s) URL ending in ".git"
// (a "#ref" fragment allowed).
bool isGitUrl(std::string_view source) {
  if (source.starts_with("git@") || source.starts_with("git://")) return true;
  if (!isUrl(source)) return false;
  std::string_view path = source.substr(0, source.find('#'));
  return path.ends_with(".git");
}

namespace {

struct Sink {
  int fd = -1;
  Sha256 hash;
  int64_t size = 0;
  std::optional<Error> error;
};

size_t writeCallback(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  auto written = writeAll(sink->fd, data, n);
  if (!written) {
    sink->error = written.error();
    return 0;
  }
  sink->hash.update(data, n);
  sink->size += static_cast<int64_t>(n);
  return n;
}

// The file name Docker gives a download: the last component of the URL's decoded path.
std::string urlFileName(std::string_view url) {
  std::string name;
  CURLU* u = curl_url();
  if (u == nullptr) return "__unnamed__";
  ScopeExit free_url([&] { curl_url_cleanup(u); });
  char* path = nullptr;
  if (curl_url_set(u, CURLUPART_URL, std::string(url).c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK && path != nullptr) {
    std::string p(path);
    curl_free(path);
    std::size_t slash = p.rfind('/');
    name = slash == std::string::npos ? p : p.substr(slash + 1);
  }
  if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string::npos) {
    return "__unnamed__";
  }
  return name;
}

Result<void> performDownload(std::string_view url, Sink& sink, std::optional<int64_t>* mtime) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return fail(curlInitError());
  ScopeExit cleanup([&] { curl_easy_cleanup(curl); });
  char errbuf[CURL_ERROR_SIZE] = {};
  std::string u(url);
  curl_easy_setopt(curl, CURLOPT_URL, u.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "hull");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, writeCallback);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  // The CA bundle follows the usual variables, so a private CA works as it does for curl(1).
  for (const char* var : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    const char* v = ::getenv(var);
    if (v != nullptr && *v != '\0') {
      curl_easy_setopt(curl, CURLOPT_CAINFO, v);
      break;
    }
  }
  CURLcode rc = curl_easy_perform(curl);
  if (sink.error) return fail(sink.error->wrap("write download"));
  if (rc != CURLE_OK) {
    return fail(Errc::kIo, "download: " + std::string(*errbuf ? errbuf : curl_easy_strerror(rc)));
  }
  curl_off_t filetime = -1;
  if (curl_easy_getinfo(curl, CURLINFO_FILETIME_T, &filetime) == CURLE_OK && filetime >= 0) {
    *mtime = static_cast<int64_t>(filetime);
  }
  return {};
}

}  // namespace

Result<Download> downloadUrl(std::string_view url, const fs::path& dir, std::string_view checksum) {
  std::optional<Digest> want;
  if (!checksum.empty()) {
    auto d = Digest::parse(checksum);
    if (!d) {
      return fail(Errc::kInvalidArgument, "--checksum=" + std::string(checksum) +
                                              ": expected sha256:<64 lowercase hex digits>");
    }
    want = *d;
  }
  Download dl;
  dl.name = urlFileName(url);
  dl.file = uniquePath(dir, "url");
  UniqueFd fd(::open(dl.file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return failErrno("create " + dl.file.string());
  Sink sink;
  sink.fd = fd.get();
  HULL_TRY(performDownload(url, sink, &dl.last_modified));
  dl.digest = sink.hash.finish();
  dl.size = sink.size;
  if (want && *want != dl.digest) {
    return fail(Errc::kCorrupt,
                "checksum mismatch: expected " + want->str() + ", got " + dl.digest.str());
  }
  return dl;
}

namespace {

archive* openDecompressor(bool raw) {
  archive* a = archive_read_new();
  if (a == nullptr) return nullptr;
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  if (raw) {
    archive_read_support_format_raw(a);
  } else {
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
  }
  return a;
}

}  // namespace

bool isArchive(const fs::path& path) {
  archive* a = openDecompressor(false);
  if (a == nullptr) return false;
  ScopeExit free_archive([&] { archive_read_free(a); });
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) return false;
  archive_entry* entry = nullptr;
  return archive_read_next_header(a, &entry) == ARCHIVE_OK;
}

namespace {

// ADD --chown over an extracted archive: every entry the archive names gets the owner. Names
// are resolved as the extraction resolved them, inside the directory (RESOLVE_IN_ROOT), and the
// final component is never followed.
Result<void> chownEntries(const fs::path& path, int dir_fd, const Owner& owner) {
  archive* a = openDecompressor(false);
  if (a == nullptr) return fail(archiveNewError("archive_read_new"));
  ScopeExit free_archive([&] { archive_read_free(a); });
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(Errc::kCorrupt, "read archive " + path.filename().string());
  }
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string name = dockerfile::cleanPath("/" + std::string(archive_entry_pathname(entry)));
    std::size_t slash = name.rfind('/');
    std::string parent = name.substr(0, slash), base = name.substr(slash + 1);
    if (base.empty() || base.starts_with(".wh.")) continue;
    UniqueFd pfd(openInRoot(dir_fd, parent, O_PATH | O_DIRECTORY));
    if (!pfd.valid()) continue;
    if (::fchownat(pfd.get(), base.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno != ENOENT) {
      return failErrno("chown " + name);
    }
  }
  return {};
}

}  // namespace

Result<void> extractArchive(const fs::path& path, int dir_fd, const Owner* owner) {
  // libarchive takes off the compression (any of Docker's); the layer module checks and writes
  // the plain tar stream with its rules (no "..", writes resolved inside the directory).
  archive* a = openDecompressor(true);
  if (a == nullptr) return fail(archiveNewError("archive_read_new"));
  ScopeExit free_archive([&] { archive_read_free(a); });
  archive_entry* entry = nullptr;
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(a, &entry) != ARCHIVE_OK) {
    return fail(Errc::kCorrupt, "read archive: " + std::string(archive_error_string(a) != nullptr
                                                                   ? archive_error_string(a)
                                                                   : "unknown error"));
  }
  auto reader = layer::funcReader([a](void* data, std::size_t size) -> Result<std::size_t> {
    la_ssize_t n = archive_read_data(a, data, size);
    if (n < 0) {
      const char* msg = archive_error_string(a);
      return fail(Errc::kCorrupt, "read archive: " + std::string(msg != nullptr ? msg : "error"));
    }
    return static_cast<std::size_t>(n);
  });
  layer::ApplyOptions options;
  options.preserve_owners = owner == nullptr && ::geteuid() == 0;
  options.allow_setuid = ::geteuid() == 0;
  auto applied =
      layer::applyLayer(*reader, fs::path("/proc/self/fd") / std::to_string(dir_fd), options);
  if (!applied) return fail(applied.error().wrap("extract " + path.filename().string()));
  if (owner != nullptr) return chownEntries(path, dir_fd, *owner);
  return {};
}

}  // namespace hull::build::detail
