#include <random>
#include <string>

#include <gtest/gtest.h>

#include "layer/layer.h"
#include "registry/diff_id.h"

namespace hull::registry {
namespace {

std::string randomBytes(std::size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 16);  // compressible
  return s;
}

std::string compress(const std::string& plain, layer::Compression c) {
  std::string out;
  auto sink = layer::funcWriter([&](const void* d, std::size_t n) -> Result<void> {
    out.append(static_cast<const char*>(d), n);
    return {};
  });
  auto w = layer::compressingWriter(*sink, c, 1);
  EXPECT_TRUE(w->write(plain.data(), plain.size()));
  EXPECT_TRUE(w->finish());
  return out;
}

Result<DiffId> feed(layer::Compression c, const std::string& bytes, std::size_t chunk) {
  DiffIdTee tee(c);
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    HULL_TRY(tee.write(bytes.data() + i, std::min(chunk, bytes.size() - i)));
  }
  return tee.finish();
}

TEST(DiffIdTee, MatchesTheUncompressedDigest) {
  const std::string plain = randomBytes(20 << 20);  // larger than the tee's queue
  const Digest want = Digest::ofBytes(plain);
  for (auto c : {layer::Compression::kNone, layer::Compression::kGzip, layer::Compression::kZstd}) {
    std::string bytes = c == layer::Compression::kNone ? plain : compress(plain, c);
    for (std::size_t chunk : {std::size_t{1} << 10, std::size_t{3} << 20}) {
      auto r = feed(c, bytes, chunk);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(r->diff_id, want);
      EXPECT_EQ(r->size, static_cast<int64_t>(plain.size()));
    }
  }
}

TEST(DiffIdTee, CorruptOrTruncatedStreamsFail) {
  const std::string plain = randomBytes(1 << 20);
  std::string gz = compress(plain, layer::Compression::kGzip);
  std::string flipped = gz;
  flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x55);
  EXPECT_FALSE(feed(layer::Compression::kGzip, flipped, 4096));
  EXPECT_FALSE(feed(layer::Compression::kGzip, gz.substr(0, gz.size() / 2), 4096));
  std::string zst = compress(plain, layer::Compression::kZstd);
  EXPECT_FALSE(feed(layer::Compression::kZstd, zst.substr(0, zst.size() - 10), 4096));
}

TEST(DiffIdTee, AbandonedWithoutFinish) {
  std::string gz = compress(randomBytes(1 << 20), layer::Compression::kGzip);
  DiffIdTee tee(layer::Compression::kGzip);
  ASSERT_TRUE(tee.write(gz.data(), gz.size() / 2));
  // The destructor ends the stream and joins the thread.
}

}  // namespace
}  // namespace hull::registry
