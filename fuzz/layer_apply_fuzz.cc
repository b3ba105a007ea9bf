// Input: bytes read as a layer (tar, possibly gzip or zstd) and applied to a fresh directory
// under /tmp. Hostile archives must be rejected, never crash, and never write next to the
// destination: a sentinel file beside it must survive untouched.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fs.h"
#include "layer/layer.h"

namespace {

constexpr std::string_view kSentinel = "sentinel";

// One scratch root per process: <root>/sentinel and <root>/dest, removed at exit. Never freed,
// so that the exit handler can still read it after static destructors ran.
const hull::fs::path& scratchRoot() {
  static const hull::fs::path* root = [] {
    std::string tmpl = "/tmp/hull-layer-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    auto* path = new hull::fs::path(tmpl);
    if (!hull::writeFileAtomic(*path / "sentinel", kSentinel)) std::abort();
    std::atexit([] { (void)hull::removeAll(scratchRoot()); });
    return path;
  }();
  return *root;
}

bool onlyExpectedEntries(const hull::fs::path& root) {
  std::error_code ec;
  int count = 0;
  for (const auto& entry : hull::fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name != "sentinel" && name != "dest") return false;
    ++count;
  }
  return !ec && count == 2;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const hull::fs::path& root = scratchRoot();
  const hull::fs::path dest = root / "dest";
  if (!hull::mkdirAll(dest)) std::abort();

  std::size_t offset = 0;
  auto reader = hull::layer::funcReader([&](void* buf, std::size_t n) -> hull::Result<std::size_t> {
    std::size_t k = std::min(n, size - offset);
    if (k > 0) std::memcpy(buf, data + offset, k);
    offset += k;
    return k;
  });
  auto stats = hull::layer::applyLayer(*reader, dest, hull::layer::ApplyOptions{});
  if (!stats && stats.error().message.empty()) std::abort();

  if (!onlyExpectedEntries(root)) std::abort();
  auto sentinel = hull::readFile(root / "sentinel");
  if (!sentinel || *sentinel != kSentinel) std::abort();
  if (!hull::removeAll(dest)) std::abort();
  return 0;
}
