// The build cache (cache.h): step keys and the records under <root>/cache (docs/store-format.md,
// "Cache records").
#include "build/cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "oci/image.h"

namespace hull::build {
namespace {

// Bumped when the key's byte layout changes, so old records simply stop matching.
constexpr std::string_view kKeyVersion = "hull-cache-key-v1";
// A record is a few hundred bytes; anything far larger is not one of ours.
constexpr std::size_t kRecordMax = 64u << 10;

// A netstring-like prefix: the decimal length, then ':'. Makes the concatenation of fields
// unambiguous ("ab"+"c" and "a"+"bc" give different bytes).
void appendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
}

bool isHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

fs::path recordsDir(const store::Store& store) { return store.root() / "cache" / "records"; }
fs::path mountsDir(const store::Store& store) { return store.root() / "cache" / "mounts"; }

// The record files (<64 hex>.json) in records/; staging leftovers and other names are skipped.
std::vector<fs::path> recordFiles(const store::Store& store) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(recordsDir(store), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() == 69 && name.ends_with(".json") && isHex64(name.substr(0, 64))) {
      out.push_back(it->path());
    }
  }
  return out;
}

}  // namespace

KeyBuilder::KeyBuilder(std::string_view kind) {
  appendField(bytes_, kKeyVersion);
  appendField(bytes_, kind);
}

// Each field is a type tag (s: string, d: digest, l: list), its name and its value(s), all
// length-prefixed, so a field can never be read as part of its neighbour.
KeyBuilder& KeyBuilder::add(std::string_view name, std::string_view value) {
  bytes_ += 's';
  appendField(bytes_, name);
  appendField(bytes_, value);
  return *this;
}

KeyBuilder& KeyBuilder::add(std::string_view name, const Digest& value) {
  bytes_ += 'd';
  appendField(bytes_, name);
  appendField(bytes_, value.str());
  return *this;
}

KeyBuilder& KeyBuilder::add(std::string_view name, const std::vector<std::string>& values) {
  bytes_ += 'l';
  appendField(bytes_, name);
  appendField(bytes_, std::to_string(values.size()));
  for (const auto& v : values) appendField(bytes_, v);
  return *this;
}

Digest KeyBuilder::finish() const { return Digest::ofBytes(bytes_); }

Digest baseKey(const std::optional<Digest>& base_manifest) {
  KeyBuilder k("from");
  if (base_manifest) return k.add("manifest", *base_manifest).finish();
  return k.add("scratch", std::string_view("scratch")).finish();
}

Json toJson(const CacheRecord& r) {
  Json j = {{"key", r.key.str()}, {"created_by", r.created_by}};
  if (!r.created.empty()) j["created"] = r.created;
  if (r.layer) {
    j["layer"] = {{"blob", oci::toJson(r.layer->blob)}, {"diff_id", r.layer->diff_id.str()}};
  }
  return j;
}

Result<CacheRecord> cacheRecordFromJson(const Json& j) {
  auto bad = [](std::string what) { return fail(Errc::kCorrupt, "cache record: " + what); };
  if (!j.is_object()) return bad("not an object");
  auto key = j.find("key");
  if (key == j.end() || !key->is_string()) return bad("no key");
  CacheRecord r;
  HULL_ASSIGN_OR_RETURN(r.key, Digest::parse(key->get<std::string>()));
  auto created_by = j.find("created_by");
  if (created_by != j.end()) {
    if (!created_by->is_string()) return bad("created_by is not a string");
    r.created_by = created_by->get<std::string>();
  }
  auto created = j.find("created");
  if (created != j.end()) {
    if (!created->is_string()) return bad("created is not a string");
    r.created = created->get<std::string>();
  }
  auto layer = j.find("layer");
  if (layer == j.end() || layer->is_null()) return r;
  if (!layer->is_object()) return bad("layer is not an object");
  auto blob = layer->find("blob");
  auto diff_id = layer->find("diff_id");
  if (blob == layer->end() || diff_id == layer->end() || !diff_id->is_string()) {
    return bad("layer needs blob and diff_id");
  }
  Layer l;
  HULL_ASSIGN_OR_RETURN(l.blob, oci::descriptorFromJson(*blob));
  HULL_ASSIGN_OR_RETURN(l.diff_id, Digest::parse(diff_id->get<std::string>()));
  r.layer = std::move(l);
  return r;
}

std::optional<CacheRecord> Cache::lookup(const Digest& key) const {
  if (key.empty()) return std::nullopt;
  // O_NOFOLLOW: a record is a plain file hull wrote, never a link to elsewhere.
  auto fd = openFile(recordsDir(*store_) / (key.hex() + ".json"), O_RDONLY | O_NOFOLLOW);
  if (!fd) return std::nullopt;
  std::string text(kRecordMax + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    auto n = readSome(fd->get(), text.data() + got, text.size() - got);
    if (!n) return std::nullopt;
    if (*n == 0) break;
    got += *n;
  }
  if (got > kRecordMax) return std::nullopt;
  text.resize(got);
  auto j = parseJson(text, "cache record");
  if (!j) return std::nullopt;
  auto record = cacheRecordFromJson(*j);
  // A record under another key's name was copied or damaged: never trust it.
  if (!record || record->key != key) return std::nullopt;
  if (record->layer && !store_->hasBlob(record->layer->blob.digest)) return std::nullopt;
  return std::move(*record);
}

Result<void> Cache::put(const CacheRecord& record) const {
  if (record.key.empty()) return fail(Errc::kInvalidArgument, "cache record without a key");
  // Shared lock: prune cannot run between the check below and the record naming the blob, and
  // the staging file in tmp/ is safe from its sweep.
  HULL_ASSIGN_OR_RETURN(store::Lock held, store_->lock(store::LockMode::kShared));
  if (record.layer && !store_->hasBlob(record.layer->blob.digest)) {
    return fail(Errc::kNotFound,
                "cache record: layer blob " + record.layer->blob.digest.str() + " is not stored");
  }
  fs::path dir = recordsDir(*store_);
  HULL_TRY(mkdirAll(dir, 0700));
  return writeFileAtomic(dir / (record.key.hex() + ".json"), canonicalJson(toJson(record)), 0644,
                         store_->tmpDir())
      .map_error([](Error e) { return e.wrap("write cache record"); });
}

Result<int64_t> Cache::clear(bool dry_run) const {
  // Exclusive: no build is reading a record or using a cache mount meanwhile.
  HULL_ASSIGN_OR_RETURN(store::Lock held, store_->lock(store::LockMode::kExclusive));
  std::vector<fs::path> records = recordFiles(*store_);
  if (dry_run) return static_cast<int64_t>(records.size());
  for (const auto& p : records) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      return failErrno("remove cache record " + p.string());
    }
  }
  if (!records.empty()) HULL_TRY(fsyncPath(recordsDir(*store_)));
  std::error_code ec;
  for (auto it = fs::directory_iterator(mountsDir(*store_), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    HULL_TRY(removeAll(it->path()));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(Errc::kIo, "list " + mountsDir(*store_).string() + ": " + ec.message());
  }
  return static_cast<int64_t>(records.size());
}

fs::path Cache::mountDir(std::string_view id) const {
  // Hashed: an id is user text ("../x", "/root/.cache") and must never become a path itself.
  return mountsDir(*store_) / Digest::ofBytes(id).hex();
}

}  // namespace hull::build
