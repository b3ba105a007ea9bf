// Layer records: $ROOT/layers/<blob-hex>.json = {"diffID":"sha256:...","size":N}, what reading a
// layer blob taught (docs/store-format.md). They are a cache: a record that is missing, unreadable
// or malformed reads as absent, and whoever needs it recomputes it from the blob.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include <fmt/format.h>

#include "store/internal.h"
#include "store/store.h"

namespace hull::store {
namespace {

// A record is about 100 bytes; anything much larger is not one.
constexpr std::size_t kRecordMax = 4096;

std::string encodeRecord(const LayerRecord& r) {
  return canonicalJson(Json{{"diffID", r.diff_id.str()}, {"size", r.size}});
}

std::optional<LayerRecord> decodeRecord(std::string_view text) {
  auto j = parseJson(text, "layer record");
  if (!j || !j->is_object() || j->size() != 2) return std::nullopt;
  auto diff_id = j->find("diffID");
  auto size = j->find("size");
  if (diff_id == j->end() || !diff_id->is_string()) return std::nullopt;
  if (size == j->end() || !size->is_number_integer()) return std::nullopt;
  auto digest = Digest::parse(diff_id->get<std::string>());
  if (!digest) return std::nullopt;
  // Unsigned JSON numbers above int64's range read as integers too; keep only what fits.
  if (size->is_number_unsigned() &&
      size->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  int64_t n = size->get<int64_t>();
  if (n < 0) return std::nullopt;
  return LayerRecord{std::move(*digest), n};
}

Result<std::string> readRecordFile(const fs::path& path) {
  // O_NOFOLLOW: a record is a plain file that hull wrote, never a link to elsewhere.
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDONLY | O_NOFOLLOW));
  std::string text(kRecordMax + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), text.data() + got, text.size() - got));
    if (n == 0) break;
    got += n;
  }
  if (got > kRecordMax) return fail(Errc::kCorrupt, path.string() + ": too large");
  text.resize(got);
  return text;
}

}  // namespace

fs::path Store::layerRecordPath(const Digest& blob) const {
  return root_ / "layers" / (blob.hex() + ".json");
}

std::optional<LayerRecord> Store::layerRecord(const Digest& blob) const {
  if (blob.empty()) return std::nullopt;
  auto text = readRecordFile(layerRecordPath(blob));
  if (!text) return std::nullopt;
  return decodeRecord(*text);
}

Result<void> Store::putLayerRecord(const Digest& blob, const LayerRecord& record) const {
  std::string context = "layer record for " + blob.str();
  if (blob.empty() || record.diff_id.empty() || record.size < 0) {
    return fail(Errc::kInternal, context + ": incomplete record");
  }
  if (layerRecord(blob) == record) return {};
  // Staging in tmp/ happens under the shared lock, so a concurrent prune cannot sweep it away;
  // the lock also keeps the blob from being pruned before its record is in place.
  HULL_ASSIGN_OR_RETURN(Lock held, lock(LockMode::kShared));
  if (!hasBlob(blob)) return fail(Errc::kNotFound, context + ": the blob is not in the store");
  HULL_TRY(mkdirAll(root_ / "layers"));
  return writeFileAtomic(layerRecordPath(blob), encodeRecord(record), 0644, tmpDir())
      .map_error([&](Error e) { return std::move(e).wrap(context); });
}

Result<void> Store::removeLayerRecord(const Digest& blob) const {
  if (blob.empty()) return {};
  fs::path path = layerRecordPath(blob);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("remove " + path.string());
  return {};
}

}  // namespace hull::store
