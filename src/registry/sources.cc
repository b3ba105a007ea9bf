// Blob source notes (see sources.h).
#include "registry/sources.h"

#include <algorithm>

#include "base/fs.h"

namespace hull::registry {
namespace {

fs::path notePath(const store::Store& store, const Digest& blob) {
  return store.root() / "sources" / blob.hex();
}

}  // namespace

std::vector<std::string> blobSources(const store::Store& store, const Digest& blob) {
  std::vector<std::string> out;
  auto text = readFile(notePath(store, blob), 64 << 10);
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty() && out.size() < kMaxSources) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) out.emplace_back(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return out;
}

Result<void> addBlobSource(const store::Store& store, const Digest& blob,
                           const std::string& domain_repository) {
  std::vector<std::string> lines = blobSources(store, blob);
  if (!lines.empty() && lines.front() == domain_repository) return {};
  std::erase(lines, domain_repository);
  lines.insert(lines.begin(), domain_repository);
  if (lines.size() > kMaxSources) lines.resize(kMaxSources);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  HULL_TRY(mkdirAll(store.root() / "sources", 0700));
  return writeFileAtomic(notePath(store, blob), text, 0644, store.tmpDir());
}

std::string mountSource(const store::Store& store, const Digest& blob, const std::string& domain,
                        const std::string& repository) {
  std::string prefix = domain + "/";
  for (const auto& line : blobSources(store, blob)) {
    if (line.starts_with(prefix) && line.substr(prefix.size()) != repository) {
      return line.substr(prefix.size());
    }
  }
  return "";
}

}  // namespace hull::registry
