// The build cache (cache.h).
#include "build/cache.h"

namespace hull::build {

KeyBuilder::KeyBuilder(std::string_view kind) : bytes_(kind) {}
KeyBuilder& KeyBuilder::add(std::string_view name, std::string_view value) { return *this; }
KeyBuilder& KeyBuilder::add(std::string_view name, const Digest& value) { return *this; }
KeyBuilder& KeyBuilder::add(std::string_view name, const std::vector<std::string>& values) {
  return *this;
}
Digest KeyBuilder::finish() const { return Digest{}; }
Digest baseKey(const std::optional<Digest>& base_manifest) { return Digest{}; }
std::optional<CacheRecord> Cache::lookup(const Digest& key) const { return std::nullopt; }
Result<void> Cache::put(const CacheRecord& record) const { return {}; }
Result<int64_t> Cache::clear(bool dry_run) const { return 0; }
fs::path Cache::mountDir(std::string_view id) const { return store_->root() / "cache" / "mounts"; }
Json toJson(const CacheRecord& r) { return Json::object(); }
Result<CacheRecord> cacheRecordFromJson(const Json& j) {
  return fail(Errc::kUnsupported, "not available yet");
}

}  // namespace hull::build
