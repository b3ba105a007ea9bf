// ADD: local archives in every compression Docker extracts, plain files that only look like
// archives, and http URLs (a one-shot server on 127.0.0.1) with --checksum, Last-Modified and
// the 0600 mode.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include <gtest/gtest.h>

#include "copy_test_util.h"

namespace hull::build {
namespace {

using testing::addSpec;
using testing::copyInto;
using testing::modeOf;
using testing::readText;
using testing::spec;
using testing::TempDir;
using testing::writeTar;
using testing::writeText;

class AddArchiveTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AddArchiveTest, ExtractsIntoDest) {
  TempDir ctx, root;
  writeTar(ctx.path() / "a.tar", {{"dir/", "", AE_IFDIR}, {"dir/f.txt", "content"}}, GetParam());
  ASSERT_TRUE(copyInto(ctx.path(), root.path(), addSpec({"a.tar"}, "/opt")));
  EXPECT_EQ(readText(root.path() / "opt/dir/f.txt"), "content");
  // COPY never extracts.
  ASSERT_TRUE(copyInto(ctx.path(), root.path(), spec({"a.tar"}, "/copied.tar")));
  EXPECT_TRUE(S_ISREG(modeOf(root.path() / "copied.tar")));
}

INSTANTIATE_TEST_SUITE_P(Filters, AddArchiveTest,
                         ::testing::Values("none", "gzip", "bzip2", "xz", "zstd"));

TEST(AddTest, ChownAppliesToExtractedEntries) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  TempDir ctx, root;
  writeTar(ctx.path() / "a.tar.gz", {{"d/", "", AE_IFDIR}, {"d/f", "x"}}, "gzip");
  auto s = addSpec({"a.tar.gz"}, "/x/");
  s.chown = "5:6";
  ASSERT_TRUE(copyInto(ctx.path(), root.path(), s));
  struct stat st;
  ASSERT_EQ(::lstat((root.path() / "x/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 5u);
  EXPECT_EQ(st.st_gid, 6u);
  ASSERT_EQ(::lstat((root.path() / "x/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 5u);
}

TEST(AddTest, NonArchiveIsCopied) {
  TempDir ctx, root;
  writeText(ctx.path() / "notes.tar.gz", "not really an archive");
  ASSERT_TRUE(copyInto(ctx.path(), root.path(), addSpec({"notes.tar.gz"}, "/n/")));
  EXPECT_EQ(readText(root.path() / "n/notes.tar.gz"), "not really an archive");
}

// Serves `body` to each of `count` connections on 127.0.0.1 (HTTP/1.0, Last-Modified set).
class OneShotServer {
 public:
  OneShotServer(std::string body, int count) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 8);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, count] {
      for (int i = 0; i < count; ++i) serveOne();
    });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void serveOne() {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, n);
    }
    std::string resp = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body_.size()) +
                       "\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n" + body_;
    (void)::write(c, resp.data(), resp.size());
    ::close(c);
  }
  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(AddTest, UrlDownloadWithChecksum) {
  TempDir ctx, root, tmp;
  OneShotServer server("model weights", 3);
  const std::string good = Digest::ofBytes("model weights").str();
  SourceTree tree;
  tree.root = ctx.path();
  CopyEnv env;
  env.tmp_dir = tmp.path();
  auto s = addSpec({server.url("/files/model.bin?x=1")}, "/m/");
  s.checksum = good;
  auto op = CopyOp::prepare(tree, s, env);
  ASSERT_TRUE(op) << op.error().message;
  ASSERT_TRUE(op->apply(root.path()));
  EXPECT_EQ(readText(root.path() / "m/model.bin"), "model weights");
  EXPECT_EQ(modeOf(root.path() / "m/model.bin") & 07777, 0600u);
  struct stat st;
  ASSERT_EQ(::stat((root.path() / "m/model.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 784111777);

  // The digest is the content's: the same bytes from another URL path keep the same name rule.
  s.checksum = "sha256:" + std::string(64, '0');
  auto bad = CopyOp::prepare(tree, s, env);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kCorrupt);
  EXPECT_NE(bad.error().message.find(good), std::string::npos);
  EXPECT_NE(bad.error().message.find(std::string(64, '0')), std::string::npos);

  s.checksum.clear();
  s.dest = "/exact";
  auto plain = CopyOp::prepare(tree, s, env);
  ASSERT_TRUE(plain) << plain.error().message;
  ASSERT_TRUE(plain->apply(root.path()));
  EXPECT_EQ(readText(root.path() / "exact"), "model weights");
  EXPECT_EQ(plain->sourcesDigest(), op->sourcesDigest());
}

TEST(AddTest, UnreachableUrlFails) {
  TempDir ctx, tmp;
  SourceTree tree;
  tree.root = ctx.path();
  CopyEnv env;
  env.tmp_dir = tmp.path();
  auto r = CopyOp::prepare(tree, addSpec({"http://127.0.0.1:1/x"}, "/"), env);
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace hull::build
