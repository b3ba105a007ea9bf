// Compression round trips checked against the system's gzip and zstd, sniffing and media types.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layer/layer.h"
#include "oci/media_types.h"
#include "test_util.h"

namespace hull::layer {
namespace {

using ::testing::HasSubstr;
using testing::sampleData;
using testing::shell;
using testing::StringReader;
using testing::StringWriter;
using testing::TempDir;

std::string compress(const std::string& data, Compression c, int threads,
                     std::size_t chunk = 777777) {
  StringWriter out;
  auto w = compressingWriter(out, c, threads);
  for (std::size_t pos = 0; pos < data.size(); pos += chunk) {
    EXPECT_TRUE(w->write(data.data() + pos, std::min(chunk, data.size() - pos)).has_value());
  }
  EXPECT_TRUE(w->finish().has_value());
  EXPECT_EQ(out.finished(), 1);
  return out.data();
}

Result<std::string> decompress(const std::string& data) {
  StringReader in(data, 4096);
  HULL_ASSIGN_OR_RETURN(auto r, decompressingReader(in));
  std::string out;
  std::vector<char> buf(1 << 16);
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, r->read(buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  return out;
}

// What the system tool makes of a compressed stream.
std::string systemDecompress(const std::string& data, const char* tool) {
  TempDir dir;
  testing::writeString(dir.path() / "in", data);
  return shell(std::string(tool) + " -dc < '" + (dir.path() / "in").string() + "'");
}

TEST(DetectCompression, Magic) {
  const unsigned char gz[] = {0x1f, 0x8b, 8, 0};
  const unsigned char zst[] = {0x28, 0xb5, 0x2f, 0xfd};
  const unsigned char tar[] = {'e', 't', 'c', '/'};
  EXPECT_EQ(detectCompression(gz), Compression::kGzip);
  EXPECT_EQ(detectCompression(zst), Compression::kZstd);
  EXPECT_EQ(detectCompression(tar), Compression::kNone);
  EXPECT_EQ(detectCompression(std::span<const unsigned char>(zst, 3)), Compression::kNone);
  EXPECT_EQ(detectCompression({}), Compression::kNone);
}

TEST(MediaTypes, RoundTrip) {
  for (auto c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    auto back = compressionOf(layerMediaType(c));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, c);
  }
  EXPECT_EQ(layerMediaType(Compression::kGzip), oci::kMediaTypeLayerGzip);
  EXPECT_EQ(*compressionOf(oci::kDockerLayerGzip), Compression::kGzip);
  EXPECT_EQ(*compressionOf(oci::kDockerLayer), Compression::kNone);
  auto bad = compressionOf("application/vnd.oci.image.layer.v1.tar+bzip2");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::kUnsupported);
}

class RoundTrip : public ::testing::TestWithParam<std::size_t> {};

TEST_P(RoundTrip, GzipIsDeterministicAndReadableByGzip) {
  std::string data = sampleData(GetParam());
  std::string one = compress(data, Compression::kGzip, 1);
  std::string four = compress(data, Compression::kGzip, 4, 4096);
  EXPECT_EQ(one, four);
  EXPECT_EQ(systemDecompress(one, "gzip"), data);
  auto back = decompress(one);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, data);
}

TEST_P(RoundTrip, ZstdIsDeterministicAndReadableByZstd) {
  std::string data = sampleData(GetParam(), 7);
  std::string one = compress(data, Compression::kZstd, 1);
  std::string four = compress(data, Compression::kZstd, 4, 4096);
  EXPECT_EQ(one, four);
  EXPECT_EQ(systemDecompress(one, "zstd"), data);
  auto back = decompress(one);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, data);
}

// Empty, one byte, exactly two blocks, and several blocks with a tail.
INSTANTIATE_TEST_SUITE_P(Sizes, RoundTrip, ::testing::Values(0, 1, 2u << 20, (5u << 20) + 12345));

TEST(Compression, NoneIsPassThrough) {
  std::string data = sampleData(100000);
  EXPECT_EQ(compress(data, Compression::kNone, 2), data);
  EXPECT_EQ(*decompress(data), data);
}

TEST(Compression, GzipSmallerThanInputForText) {
  std::string text;
  while (text.size() < (3u << 20)) text += "layer compression on all cores\n";
  EXPECT_LT(compress(text, Compression::kGzip, 2).size(), text.size() / 20);
}

TEST(Decompression, MultiMemberGzip) {
  std::string a = sampleData(300000, 3), b = sampleData(200000, 4);
  TempDir dir;
  testing::writeString(dir.path() / "a", a);
  testing::writeString(dir.path() / "b", b);
  std::string joined = shell("gzip -c < '" + (dir.path() / "a").string() + "'; gzip -c < '" +
                             (dir.path() / "b").string() + "'");
  auto back = decompress(joined);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, a + b);
  // Zero padding after the last member is accepted, other trailing bytes are not.
  EXPECT_EQ(*decompress(joined + std::string(512, '\0')), a + b);
  auto garbage = decompress(joined + "junk");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, Errc::kCorrupt);
}

TEST(Decompression, TruncatedStreamsAreCorrupt) {
  std::string data = sampleData(1u << 20);
  for (auto c : {Compression::kGzip, Compression::kZstd}) {
    std::string z = compress(data, c, 2);
    auto r = decompress(z.substr(0, z.size() / 2));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kCorrupt);
    EXPECT_THAT(r.error().message, HasSubstr("truncated"));
    // Cut inside the gzip trailer too.
    auto t = decompress(z.substr(0, z.size() - 3));
    ASSERT_FALSE(t.has_value());
  }
}

TEST(Decompression, CorruptGzip) {
  std::string z = compress(sampleData(100000), Compression::kGzip, 1);
  z[z.size() / 2] ^= 0x55;
  z[z.size() / 2 + 1] ^= 0x55;
  auto r = decompress(z);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
}

TEST(Adapters, FuncReaderAndWriter) {
  std::string sink;
  auto w = funcWriter([&](const void* d, std::size_t n) -> Result<void> {
    sink.append(static_cast<const char*>(d), n);
    return {};
  });
  ASSERT_TRUE(w->write("abc", 3).has_value());
  EXPECT_EQ(sink, "abc");
  int calls = 0;
  auto r = funcReader([&](void* d, std::size_t n) -> Result<std::size_t> {
    if (calls++ > 0) return std::size_t{0};
    std::memcpy(d, "xy", 2);
    return std::size_t{2};
  });
  char buf[4];
  EXPECT_EQ(*r->read(buf, sizeof buf), 2u);
  EXPECT_EQ(*r->read(buf, sizeof buf), 0u);
}

}  // namespace
}  // namespace hull::layer
