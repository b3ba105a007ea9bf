#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/digest.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/result.h"
#include "base/scope_exit.h"

namespace hull {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hull-base-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)removeAll(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Digest::ofBytes("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest::ofBytes("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, IncrementalEqualsOneShot) {
  Sha256 h;
  h.update("a");
  h.update("");
  h.update("bc");
  EXPECT_EQ(h.finish(), Digest::ofBytes("abc"));
}

TEST(Digest, ParseAcceptsOnlyCanonicalSha256) {
  auto ok = Digest::parse("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->shortId(), "aaaaaaaaaaaa");
  for (std::string bad : {std::string(""), std::string("sha256:"), "sha256:" + std::string(63, 'a'),
                          "sha256:" + std::string(65, 'a'), "sha256:" + std::string(64, 'A'),
                          "sha512:" + std::string(64, 'a'), "sha256:" + std::string(63, 'a') + "g",
                          "sha256:../../../../etc/passwd" + std::string(40, 'a')}) {
    auto r = Digest::parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
}

Result<int> half(int v) {
  if (v % 2 != 0) return fail(Errc::kInvalidArgument, "odd");
  return v / 2;
}

Result<int> quarter(int v) {
  HULL_ASSIGN_OR_RETURN(int h, half(v));
  HULL_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Result<void> checkEven(int v) {
  HULL_TRY(half(v));
  return {};
}

TEST(Result, MacrosPropagateErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "odd");
  EXPECT_TRUE(checkEven(2));
  EXPECT_FALSE(checkEven(3));
}

TEST(Result, WrapAddsContext) {
  Error e{Errc::kIo, "inner"};
  EXPECT_EQ(e.wrap("outer").message, "outer: inner");
  EXPECT_EQ(e.wrap("outer").code, Errc::kIo);
}

TEST(Result, ErrnoMapsToCodes) {
  EXPECT_EQ(failErrno("x", ENOENT).value().code, Errc::kNotFound);
  EXPECT_EQ(failErrno("x", EACCES).value().code, Errc::kPermission);
  EXPECT_EQ(failErrno("x", EIO).value().code, Errc::kIo);
  EXPECT_NE(failErrno("open f", ENOENT).value().message.find("open f: "), std::string::npos);
}

TEST(ScopeExit, RunsUnlessDismissed) {
  int runs = 0;
  {
    ScopeExit a([&] { ++runs; });
    ScopeExit b([&] { ++runs; });
    b.dismiss();
  }
  EXPECT_EQ(runs, 1);
}

TEST(Json, ParseRejectsGarbageAndDeepNesting) {
  EXPECT_TRUE(parseJson(R"({"a":[1,2]})", "t"));
  auto bad = parseJson("{\"a\":", "thing.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "thing.json: not valid JSON");
  std::string deep(100000, '[');
  auto d = parseJson(deep, "deep");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("nested deeper"), std::string::npos);
  // Brackets inside strings do not count as nesting.
  EXPECT_TRUE(parseJson("\"" + std::string(1000, '[') + "\"", "s"));
}

TEST(Json, CanonicalSortsKeys) {
  auto j = parseJson(R"({"b":1, "a": {"d":2,"c":3}})", "t");
  ASSERT_TRUE(j);
  EXPECT_EQ(canonicalJson(*j), R"({"a":{"c":3,"d":2},"b":1})");
}

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemp) {
  TempDir dir;
  fs::path f = dir.path() / "index.json";
  ASSERT_TRUE(writeFileAtomic(f, "one"));
  ASSERT_TRUE(writeFileAtomic(f, "two", 0600));
  EXPECT_EQ(*readFile(f), "two");
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(Fs, AtomicWriteFailureKeepsOldContent) {
  TempDir dir;
  fs::path f = dir.path() / "f";
  ASSERT_TRUE(writeFileAtomic(f, "old"));
  auto r = writeFileAtomic(f, "new", 0644, dir.path() / "missing-staging-dir");
  EXPECT_FALSE(r);
  EXPECT_EQ(*readFile(f), "old");
}

TEST(Fs, ReadFileCapsSize) {
  TempDir dir;
  fs::path f = dir.path() / "big";
  ASSERT_TRUE(writeFileAtomic(f, std::string(100, 'x')));
  auto r = readFile(f, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  auto missing = readFile(dir.path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
}

TEST(Fs, UniqueFdClosesOnce) {
  TempDir dir;
  int raw;
  {
    auto fd = openFile(dir.path() / "x", O_WRONLY | O_CREAT, 0644);
    ASSERT_TRUE(fd);
    raw = fd->get();
    EXPECT_GE(::fcntl(raw, F_GETFD), 0);
    EXPECT_TRUE(::fcntl(raw, F_GETFD) & FD_CLOEXEC);
    UniqueFd moved = std::move(*fd);
    EXPECT_FALSE(fd->valid());
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
}

}  // namespace
}  // namespace hull
