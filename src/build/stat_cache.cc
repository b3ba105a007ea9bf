// The context's stat cache (copy.h): content digests remembered by (size, mtime, ctime, inode)
// so that an unchanged context is hashed by a walk of stats. A file whose stat differs in any of
// these is read again; ctime catches a rewrite that restored the mtime.
#include <fcntl.h>
#include <sys/stat.h>

#include "base/json.h"
#include "build/copy.h"
#include "build/copy_internal.h"

namespace hull::build {

namespace {

int64_t nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

std::unique_ptr<StatCache> StatCache::open(const fs::path& file) {
  auto cache = std::make_unique<StatCache>();
  cache->file_ = file;
  auto text = readFile(file);
  if (!text) return cache;
  auto json = parseJson(*text, file.string());
  if (!json || !json->is_object() || !json->contains("entries")) return cache;
  const Json& entries = (*json)["entries"];
  if (!entries.is_object()) return cache;
  for (const auto& [path, e] : entries.items()) {
    try {
      Entry entry;
      entry.size = e.at("size").get<int64_t>();
      entry.mtime_ns = e.at("mtime_ns").get<int64_t>();
      entry.ctime_ns = e.at("ctime_ns").get<int64_t>();
      entry.ino = e.at("ino").get<uint64_t>();
      auto digest = Digest::parse(e.at("digest").get<std::string>());
      if (!digest) continue;
      entry.digest = *digest;
      cache->entries_[path] = std::move(entry);
    } catch (const std::exception&) {
      continue;  // a damaged entry is only a miss
    }
  }
  return cache;
}

Result<Digest> StatCache::fileDigest(const fs::path& path, const struct stat& st) {
  const std::string key = path.string();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.size == st.st_size &&
        it->second.mtime_ns == nanos(st.st_mtim) && it->second.ctime_ns == nanos(st.st_ctim) &&
        it->second.ino == static_cast<uint64_t>(st.st_ino)) {
      it->second.used = true;
      return it->second.digest;
    }
  }
  // Hashing happens outside the lock so that several threads can hash at once.
  HULL_ASSIGN_OR_RETURN(Digest digest, detail::hashFile(path));
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = entries_[key];
  entry.size = st.st_size;
  entry.mtime_ns = nanos(st.st_mtim);
  entry.ctime_ns = nanos(st.st_ctim);
  entry.ino = static_cast<uint64_t>(st.st_ino);
  entry.digest = digest;
  entry.used = true;
  dirty_ = true;
  return digest;
}

Result<void> StatCache::save() {
  std::lock_guard<std::mutex> lock(mu_);
  bool dropped = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.used) {
      ++it;
    } else {
      it = entries_.erase(it);
      dropped = true;
    }
  }
  if (!dirty_ && !dropped) return {};
  Json entries = Json::object();
  for (const auto& [path, e] : entries_) {
    entries[path] = Json{{"size", e.size},
                         {"mtime_ns", e.mtime_ns},
                         {"ctime_ns", e.ctime_ns},
                         {"ino", e.ino},
                         {"digest", e.digest.str()}};
  }
  Json doc{{"version", 1}, {"entries", std::move(entries)}};
  if (!file_.parent_path().empty()) HULL_TRY(mkdirAll(file_.parent_path()));
  auto written = writeFileAtomic(file_, doc.dump(), 0644);
  if (!written) return fail(written.error().wrap("save stat cache"));
  dirty_ = false;
  return {};
}

}  // namespace hull::build
