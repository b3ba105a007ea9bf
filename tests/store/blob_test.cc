#include <sys/stat.h>

#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace hull::store {
namespace {

using testing::flipByte;
using testing::listDir;
using testing::readText;

class BlobTest : public testing::StoreFixture {
 protected:
  fs::path blobsDir() { return store().root() / "blobs" / "sha256"; }
};

TEST_F(BlobTest, PutBlobStoresContentUnderItsDigest) {
  auto d = store().putBlob("application/octet-stream", "hello");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->digest, Digest::ofBytes("hello"));
  EXPECT_EQ(d->size, 5);
  EXPECT_EQ(d->media_type, "application/octet-stream");
  EXPECT_TRUE(store().hasBlob(d->digest));
  EXPECT_EQ(readText(blobsDir() / d->digest.hex()), "hello");
  auto back = store().readBlob(d->digest);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, "hello");
  EXPECT_TRUE(listDir(store().tmpDir()).empty());
}

TEST_F(BlobTest, WriterStreamsAndVerifies) {
  auto w = store().ingest();
  ASSERT_TRUE(w) << w.error().message;
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string chunk(1000 + i, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(w->write(chunk));
    all += chunk;
  }
  EXPECT_EQ(w->written(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(listDir(store().tmpDir()).size(), 1u) << "the staging file lives in tmp/";
  auto d = w->commit("application/x-test", Digest::ofBytes(all), static_cast<int64_t>(all.size()));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->digest, Digest::ofBytes(all));
  EXPECT_EQ(readText(store().blobPath(d->digest)), all);
  EXPECT_TRUE(listDir(store().tmpDir()).empty());
  EXPECT_FALSE(w->commit("application/x-test")) << "a writer commits once";
  EXPECT_FALSE(w->write("more"));
}

TEST_F(BlobTest, FailedCommitLeavesStoreExactlyAsBefore) {
  ASSERT_TRUE(store().putBlob("application/octet-stream", "existing"));
  auto blobs_before = listDir(blobsDir());
  std::string index_before = readText(store().root() / "index.json");

  auto w = store().ingest();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("payload"));
  auto wrong = w->commit("application/octet-stream", Digest::ofBytes("something else"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::kCorrupt);
  EXPECT_NE(wrong.error().message.find(Digest::ofBytes("payload").str()), std::string::npos)
      << wrong.error().message;

  EXPECT_EQ(listDir(blobsDir()), blobs_before);
  EXPECT_EQ(readText(store().root() / "index.json"), index_before);
  EXPECT_TRUE(listDir(store().tmpDir()).empty()) << "the staging file is removed";
}

TEST_F(BlobTest, WrongSizeFails) {
  auto w = store().ingest();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("12345"));
  auto r = w->commit("application/octet-stream", Digest::ofBytes("12345"), 6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  EXPECT_FALSE(store().hasBlob(Digest::ofBytes("12345")));
  EXPECT_TRUE(listDir(store().tmpDir()).empty());
}

TEST_F(BlobTest, AbandonedWriterRemovesItsStagingFile) {
  {
    auto w = store().ingest();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("never committed"));
    ASSERT_EQ(listDir(store().tmpDir()).size(), 1u);
  }
  EXPECT_TRUE(listDir(store().tmpDir()).empty());
  EXPECT_TRUE(listDir(blobsDir()).empty());
}

TEST_F(BlobTest, CommittingExistingContentKeepsTheBlob) {
  auto first = store().putBlob("application/octet-stream", "same");
  ASSERT_TRUE(first);
  struct stat before {};
  ASSERT_EQ(::stat(store().blobPath(first->digest).c_str(), &before), 0);
  auto w = store().ingest();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("same"));
  auto second = w->commit("application/octet-stream");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->digest, first->digest);
  struct stat after {};
  ASSERT_EQ(::stat(store().blobPath(first->digest).c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "the existing file was not replaced";
  EXPECT_TRUE(listDir(store().tmpDir()).empty());
}

TEST_F(BlobTest, ReadingDetectsCorruption) {
  std::string data(10000, 'x');
  auto d = store().putBlob("application/octet-stream", data);
  ASSERT_TRUE(d);
  flipByte(store().blobPath(d->digest), 5000);

  auto whole = store().readBlob(d->digest);
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, Errc::kCorrupt);
  EXPECT_NE(whole.error().message.find(d->digest.str()), std::string::npos);

  auto r = store().openBlob(d->digest);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 10000);
  char buf[3000];
  Result<std::size_t> n = std::size_t{0};
  std::size_t total = 0;
  while ((n = r->read(buf, sizeof buf)) && *n > 0) total += *n;
  EXPECT_EQ(total, data.size()) << "every byte is handed out before the check at the end";
  ASSERT_FALSE(n) << "the end of a corrupt blob is an error, not end of file";
  EXPECT_EQ(n.error().code, Errc::kCorrupt);
  EXPECT_FALSE(r->read(buf, sizeof buf)) << "and stays one";
}

TEST_F(BlobTest, ReaderReportsEndOfIntactBlob) {
  auto d = store().putBlob("application/octet-stream", "intact");
  ASSERT_TRUE(d);
  auto r = store().openBlob(d->digest);
  ASSERT_TRUE(r);
  char buf[64];
  auto n = r->read(buf, sizeof buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 6u);
  auto end = r->read(buf, sizeof buf);
  ASSERT_TRUE(end) << end.error().message;
  EXPECT_EQ(*end, 0u);
}

TEST_F(BlobTest, MissingAndOversizedBlobs) {
  Digest absent = Digest::ofBytes("absent");
  EXPECT_FALSE(store().hasBlob(absent));
  auto r = store().readBlob(absent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_EQ(store().openBlob(absent).error().code, Errc::kNotFound);

  auto d = store().putBlob("application/octet-stream", std::string(100, 'z'));
  ASSERT_TRUE(d);
  auto big = store().readBlob(d->digest, 99);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(store().readBlob(d->digest, 100));
}

}  // namespace
}  // namespace hull::store
