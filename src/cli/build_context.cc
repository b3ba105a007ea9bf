// The Dockerfile and stdin context of build_context.h.
#include "cli/build_context.h"
#include "base/archive_loader.h"

#include <archive.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/scope_exit.h"
#include "cli/build_flags.h"
#include "dockerfile/ast.h"
#include "layer/layer.h"

namespace hull::cli {

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)removeAll(path_);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)removeAll(path_);
}

namespace {

Result<std::string> tooLarge(const std::string& what) {
  return fail(Errc::kInvalidArgument, fmt::format("{}: the Dockerfile is larger than {} MiB", what,
                                                  dockerfile::kMaxDockerfileSize >> 20));
}

// Reads fd to its end into `out`, stopping with an error past `max` bytes.
Result<void> readAllFd(int fd, std::string& out, std::size_t max, const std::string& what) {
  char buf[65536];
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd, buf, sizeof buf));
    if (n == 0) return {};
    out.append(buf, n);
    if (out.size() > max) return fail(tooLarge(what).error());
  }
}

// Copies what is left of stdin after `head` into a new file in tmp/.
Result<fs::path> spillStdin(const store::Store& store, std::string_view head) {
  fs::path path = uniquePath(store.tmpDir(), "build-stdin");
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_WRONLY | O_CREAT | O_EXCL, 0600));
  ScopeExit remove([&] { (void)removeAll(path); });
  HULL_TRY(writeAll(fd.get(), head));
  char buf[1 << 16];
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(STDIN_FILENO, buf, sizeof buf));
    if (n == 0) break;
    HULL_TRY(writeAll(fd.get(), buf, n));
  }
  remove.dismiss();
  return path;
}

// Unpacks a tar (any compression libarchive knows: gzip, zstd, bzip2, xz) into dest. libarchive
// only undoes the compression ("raw" format); layer::applyLayer reads the tar, which keeps every
// entry inside dest (no "..", no absolute names, no writes through symlinks).
Result<void> unpackContext(const fs::path& archive_path, const fs::path& dest) {
  archive* a = archive_read_new();
  if (a == nullptr) return fail(archiveNewError("archive_read_new"));
  ScopeExit free_archive([&] { archive_read_free(a); });
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  archive_entry* entry = nullptr;
  if (archive_read_open_filename(a, archive_path.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(a, &entry) != ARCHIVE_OK) {
    return fail(Errc::kInvalidArgument,
                fmt::format("build context from stdin: {}", archive_error_string(a)));
  }
  auto in = layer::funcReader([a](void* p, std::size_t n) -> Result<std::size_t> {
    la_ssize_t got = archive_read_data(a, p, n);
    if (got < 0) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("build context from stdin: {}", archive_error_string(a)));
    }
    return static_cast<std::size_t>(got);
  });
  auto applied = layer::applyLayer(*in, dest, layer::ApplyOptions{});
  if (!applied) return fail(applied.error().wrap("build context from stdin"));
  return {};
}

}  // namespace

Result<std::string> readDockerfile(const std::string& path) {
  if (path == "-" || path == "/dev/stdin") {
    std::string text;
    HULL_TRY(readAllFd(STDIN_FILENO, text, dockerfile::kMaxDockerfileSize, "stdin"));
    return text;
  }
  auto text = readFile(path, dockerfile::kMaxDockerfileSize);
  if (!text && text.error().code == Errc::kInvalidArgument) return tooLarge(path);
  if (!text) return fail(text.error().wrap("reading Dockerfile"));
  return text;
}

Result<StdinContext> readStdinContext(const store::Store& store) {
  std::string head;
  char buf[kSniffSize];
  while (head.size() < kSniffSize) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(STDIN_FILENO, buf, kSniffSize - head.size()));
    if (n == 0) break;
    head.append(buf, n);
  }
  StdinContext out;
  if (sniffStdin(head) == StdinKind::kDockerfile) {
    HULL_TRY(readAllFd(STDIN_FILENO, head, dockerfile::kMaxDockerfileSize, "stdin"));
    out.dockerfile = std::move(head);
    return out;
  }
  HULL_TRY(mkdirAll(store.tmpDir()));
  HULL_ASSIGN_OR_RETURN(fs::path spilled, spillStdin(store, head));
  ScopeExit remove_spill([&] { (void)removeAll(spilled); });
  TempDir dir(uniquePath(store.tmpDir(), "build-context"));
  HULL_TRY(mkdirAll(dir.path(), 0700));
  HULL_TRY(unpackContext(spilled, dir.path()));
  out.context = std::move(dir);
  return out;
}

}  // namespace hull::cli
