// Tar reading over libarchive and the checks every tar entry must pass, whoever consumes it.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/archive_loader.h"
#include "base/fs.h"
#include "layer/internal.h"

namespace hull::layer::detail {

std::string quoteName(std::string_view name) {
  constexpr std::size_t kMax = 120;
  std::string out = "\"";
  for (std::size_t i = 0; i < name.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kMax) out += fmt::format("...({} bytes)", name.size());
  return out + "\"";
}

Result<std::string> cleanName(std::string_view name) {
  if (name.find('\0') != std::string_view::npos) {
    return fail(Errc::kCorrupt, "name holds a NUL byte");
  }
  if (name.size() >= PATH_MAX) {
    return fail(Errc::kCorrupt,
                fmt::format("name is {} bytes, the limit is {}", name.size(), PATH_MAX - 1));
  }
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return fail(Errc::kCorrupt, "\"..\" escapes the layer root");
      parts.pop_back();
      continue;
    }
    if (part.size() > NAME_MAX) {
      return fail(Errc::kCorrupt,
                  fmt::format("a component is {} bytes, the limit is {}", part.size(), NAME_MAX));
    }
    parts.push_back(part);
  }
  std::string out;
  out.reserve(name.size());
  for (auto part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

namespace {

Result<void> checkWhiteout(std::string_view base) {
  constexpr std::string_view kPrefix = ".wh.";
  if (!base.starts_with(kPrefix) || base.starts_with(".wh..wh.")) return {};
  std::string_view target = base.substr(kPrefix.size());
  if (target.empty() || target == "." || target == "..") {
    return fail(Errc::kCorrupt, "invalid whiteout name");
  }
  return {};
}

}  // namespace

Result<void> checkEntry(archive_entry* entry, const std::string& name) {
  auto where = [&](Error e) { return e.wrap("entry " + quoteName(archive_entry_pathname(entry))); };
  std::string_view base = std::string_view(name).substr(name.rfind('/') + 1);
  HULL_TRY(checkWhiteout(base).map_error(where));
  const char* hardlink = archive_entry_hardlink(entry);
  mode_t type = archive_entry_filetype(entry);
  if (hardlink != nullptr) {
    auto target = cleanName(hardlink);
    if (!target) return fail(where(target.error().wrap("hard link target " + quoteName(hardlink))));
    if (target->empty()) return fail(where(Error{Errc::kCorrupt, "hard link to the layer root"}));
    return {};
  }
  if (name.empty() && type != AE_IFDIR) {
    return fail(where(Error{Errc::kCorrupt, "only a directory may name the layer root"}));
  }
  switch (type) {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return {};
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      std::size_t len = target == nullptr ? 0 : std::strlen(target);
      if (len == 0 || len >= PATH_MAX) {
        return fail(where(Error{Errc::kCorrupt, "symlink target is empty or too long"}));
      }
      return {};
    }
    default:
      return fail(where(Error{Errc::kCorrupt, fmt::format("unsupported entry type {:o}", type)}));
  }
}

int openInRoot(int root_fd, const std::string& path, int flags) {
  return openat2Fd(root_fd, path, flags, RESOLVE_IN_ROOT);
}

TarReader::TarReader(Reader& in, Tee tee)
    : in_(in), tee_(std::move(tee)), archive_(archive_read_new()), buffer_(kBlockSize) {
  archive_read_support_format_tar(archive_);
  archive_read_support_filter_none(archive_);
}

TarReader::~TarReader() { archive_read_free(archive_); }

la_ssize_t TarReader::readCallback(archive* a, void* self_ptr, const void** buffer) {
  auto* self = static_cast<TarReader*>(self_ptr);
  if (self->eof_) return 0;
  auto n = self->in_.read(self->buffer_.data(), self->buffer_.size());
  Result<void> teed = n ? self->tee_(self->buffer_.data(), *n) : Result<void>(fail(n.error()));
  if (!teed) {
    self->source_error_ = teed.error();
    archive_set_error(a, EIO, "%s", teed.error().message.c_str());
    return -1;
  }
  self->eof_ = *n == 0;
  self->stream_bytes_ += static_cast<int64_t>(*n);
  *buffer = self->buffer_.data();
  return static_cast<la_ssize_t>(*n);
}

Result<archive_entry*> TarReader::next() {
  if (!opened_) {
    if (archive_read_open(archive_, this, nullptr, &TarReader::readCallback, nullptr) !=
        ARCHIVE_OK) {
      return fail(archiveError("open"));
    }
    opened_ = true;
  }
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(archive_, &entry);
  if (rc == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return fail(archiveError("header"));
  ++entries_;
  const char* name = archive_entry_pathname(entry);
  last_name_ = name == nullptr ? "" : name;
  return entry;
}

Result<void> TarReader::readData(
    const std::function<Result<void>(const void*, std::size_t, int64_t)>& f) {
  while (true) {
    const void* buf = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(archive_, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) return {};
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return fail(archiveError("data"));
    HULL_TRY(f(buf, size, offset));
  }
}

Result<void> TarReader::skipData() {
  if (archive_read_data_skip(archive_) != ARCHIVE_OK) return fail(archiveError("data"));
  return {};
}

Result<void> TarReader::drain() {
  while (!eof_) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, in_.read(buffer_.data(), buffer_.size()));
    HULL_TRY(tee_(buffer_.data(), n));
    stream_bytes_ += static_cast<int64_t>(n);
    eof_ = n == 0;
  }
  return {};
}

// libarchive's messages ("Damaged tar archive") name no entry; say what happened and where.
Error TarReader::archiveError(std::string_view when) {
  if (source_error_) return *source_error_;
  if (std::string why = archiveUnavailable(); !why.empty()) return Error{Errc::kUnsupported, why};
  std::string msg = archive_error_string(archive_) ? archive_error_string(archive_) : "";
  if (stream_bytes_ == 0 && eof_)
    return Error{Errc::kInvalidArgument, "empty input: not a tar archive"};
  std::string at = entries_ > 0 ? " at entry " + quoteName(last_name_) : "";
  bool truncated = msg.find("runcated") != std::string::npos || (when == "data" && eof_);
  if (truncated) return Error{Errc::kCorrupt, "truncated tar archive" + at};
  if (entries_ == 0) return Error{Errc::kInvalidArgument, "not a tar archive"};
  if (when == "data") return Error{Errc::kCorrupt, "corrupt tar data" + at};
  return Error{Errc::kCorrupt, "corrupt tar header after entry " + quoteName(last_name_)};
}

}  // namespace hull::layer::detail
