// importTarball: digests against sha256sum, output readable by the system tools, header checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layer/layer.h"
#include "oci/media_types.h"
#include "test_util.h"

namespace hull::layer {
namespace {

using ::testing::HasSubstr;
using testing::sampleData;
using testing::sha256sumOf;
using testing::shell;
using testing::TempDir;

// A small tree, tarred by GNU tar (10 KiB blocking: padding after the end marker).
class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path src = dir_.path() / "src";
    fs::create_directories(src / "usr/lib");
    testing::writeString(src / "usr/lib/big", sampleData(3u << 20));
    testing::writeString(src / "hello", "hello\n");
    fs::create_symlink("usr/lib", src / "lib");
    fs::create_hard_link(src / "hello", src / "hello2");
    tar_ = dir_.path() / "layer.tar";
    shell("tar -C '" + src.string() + "' -cf '" + tar_.string() + "' .");
  }

  Result<LayerInfo> importFile(const fs::path& in_path, const fs::path& out_path, Compression c) {
    UniqueFd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    auto reader = fdReader(in.get());
    auto writer = fdWriter(out.get());
    return importTarball(*reader, *writer, c);
  }

  TempDir dir_;
  fs::path tar_;
};

TEST_F(ImportTest, GzipDigestsMatchSha256sum) {
  fs::path out = dir_.path() / "out.gz";
  auto info = importFile(tar_, out, Compression::kGzip);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->diff_id.str(), sha256sumOf(tar_));
  EXPECT_EQ(info->digest.str(), sha256sumOf(out));
  EXPECT_EQ(info->uncompressed_size, static_cast<int64_t>(fs::file_size(tar_)));
  EXPECT_EQ(info->size, static_cast<int64_t>(fs::file_size(out)));
  EXPECT_EQ(info->media_type, oci::kMediaTypeLayerGzip);
  EXPECT_EQ(info->entries, 7);  // ./ ./usr/ ./usr/lib/ big hello hello2 lib
  // The blob is the input tar, byte for byte, once gunzipped.
  EXPECT_EQ(shell("gzip -dc < '" + out.string() + "' | cmp - '" + tar_.string() + "' && echo same"),
            "same\n");
}

TEST_F(ImportTest, CompressedInputKeepsTheDiffId) {
  shell("zstd -q -T2 '" + tar_.string() + "' -o '" + tar_.string() + ".zst'");
  fs::path out = dir_.path() / "out.zst";
  auto info = importFile(tar_.string() + ".zst", out, Compression::kZstd);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->diff_id.str(), sha256sumOf(tar_));
  EXPECT_EQ(info->digest.str(), sha256sumOf(out));
  EXPECT_EQ(info->media_type, oci::kMediaTypeLayerZstd);
  EXPECT_EQ(shell("zstd -dc < '" + out.string() + "' | cmp - '" + tar_.string() + "' && echo same"),
            "same\n");
}

TEST_F(ImportTest, UncompressedOutputIsTheInput) {
  shell("gzip -k '" + tar_.string() + "'");
  fs::path out = dir_.path() / "out.tar";
  auto info = importFile(tar_.string() + ".gz", out, Compression::kNone);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->digest, info->diff_id);
  EXPECT_EQ(info->digest.str(), sha256sumOf(tar_));
  EXPECT_EQ(info->media_type, oci::kMediaTypeLayer);
}

TEST_F(ImportTest, SameInputSameBlob) {
  auto a = importFile(tar_, dir_.path() / "a.gz", Compression::kGzip);
  auto b = importFile(tar_, dir_.path() / "b.gz", Compression::kGzip);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->digest, b->digest);
}

TEST_F(ImportTest, EmptyTarIsAValidLayer) {
  fs::path empty = dir_.path() / "empty.tar";
  testing::writeString(empty, std::string(1024, '\0'));
  auto info = importFile(empty, dir_.path() / "empty.gz", Compression::kGzip);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->entries, 0);
  EXPECT_EQ(info->diff_id.str(), sha256sumOf(empty));
}

TEST_F(ImportTest, ErrorsAreOneLine) {
  fs::path cut = dir_.path() / "cut.tar";
  testing::writeString(cut, testing::readString(tar_).substr(0, 2u << 20));
  auto info = importFile(cut, dir_.path() / "cut.gz", Compression::kGzip);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, Errc::kCorrupt);
  EXPECT_THAT(info.error().message, HasSubstr("truncated tar archive at entry \"./usr/lib/big\""));
}

TEST_F(ImportTest, OutputErrorsPropagate) {
  UniqueFd in(::open(tar_.c_str(), O_RDONLY | O_CLOEXEC));
  auto reader = fdReader(in.get());
  auto writer = funcWriter(
      [](const void*, std::size_t) -> Result<void> { return fail(Errc::kIo, "disk full"); });
  auto info = importTarball(*reader, *writer, Compression::kZstd);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, HasSubstr("disk full"));
}

TEST_F(ImportTest, WriteTreeIsDeterministicAndReadableByTar) {
  testing::StringWriter a, b;
  auto na = writeTree(dir_.path() / "src", a);
  auto nb = writeTree(dir_.path() / "src", b);
  ASSERT_TRUE(na.has_value() && nb.has_value());
  EXPECT_EQ(*na, 6);
  EXPECT_EQ(a.data(), b.data());
  fs::path t = dir_.path() / "tree.tar";
  testing::writeString(t, a.data());
  EXPECT_EQ(shell("tar -tf '" + t.string() + "'"),
            "hello\nhello2\nlib\nusr/\nusr/lib/\nusr/lib/big\n");
  EXPECT_THAT(shell("tar -tvf '" + t.string() + "'"), HasSubstr("hello2 link to hello"));
}

}  // namespace
}  // namespace hull::layer
