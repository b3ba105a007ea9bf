#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/container_log.h"
#include "test_util.h"

namespace hull::engine {
namespace {

TEST(LogEntry, EncodesDockersShape) {
  LogEntry e{.log = "hi \"there\"\n", .stream = "stdout", .time = "2024-05-01T10:00:00.1Z"};
  EXPECT_EQ(encodeLogEntry(e),
            R"({"log":"hi \"there\"\n","stream":"stdout","time":"2024-05-01T10:00:00.1Z"})");
  auto back = decodeLogEntry(encodeLogEntry(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
}

TEST(LogEntry, InvalidUtf8StaysParseable) {
  LogEntry e{.log = std::string("a\xff\n"), .stream = "stderr", .time = "t"};
  auto back = decodeLogEntry(encodeLogEntry(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->stream, "stderr");
}

TEST(LogEntry, RejectsGarbage) {
  EXPECT_FALSE(decodeLogEntry("not json"));
  EXPECT_FALSE(decodeLogEntry(R"({"stream":"stdout"})"));
}

TEST(LogLineSplitter, SplitsAtNewlinesAndKeepsPartialLines) {
  LogLineSplitter s("stdout");
  auto a = s.feed("one\ntw", "t1");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].log, "one\n");
  auto b = s.feed("o\nthree", "t2");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].log, "two\n");
  EXPECT_EQ(b[0].time, "t2");
  auto rest = s.flush("t3");
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->log, "three");
  EXPECT_FALSE(s.flush("t4"));
}

TEST(LogLineSplitter, CutsLongLines) {
  LogLineSplitter s("stdout");
  auto out = s.feed(std::string(kMaxLogLine * 2 + 5, 'x') + "\n", "t");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].log.size(), kMaxLogLine);
  EXPECT_EQ(out[2].log, "xxxxx\n");
}

TEST(TailOffset, FindsTheLastLines) {
  std::string text = "a\nb\nc\n";
  EXPECT_EQ(text.substr(tailOffset(text, 1)), "c\n");
  EXPECT_EQ(text.substr(tailOffset(text, 2)), "b\nc\n");
  EXPECT_EQ(tailOffset(text, 3), 0u);
  EXPECT_EQ(tailOffset(text, 10), 0u);
  EXPECT_EQ(tailOffset(text, 0), text.size());
  EXPECT_EQ(tailOffset("", 2), 0u);
}

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  return out;
}

TEST(LogFile, WriterAndReaderAgree) {
  fs::path dir = testing::freshTempDir("log");
  ASSERT_TRUE(mkdirAll(dir));
  fs::path path = dir / "x-json.log";
  {
    auto w = LogWriter::open(path);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("stdout", "1\n2\n"));
    ASSERT_TRUE(w->write("stderr", "err\n"));
    ASSERT_TRUE(w->write("stdout", "3"));
    ASSERT_TRUE(w->flush());
  }
  int out[2], err[2];
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::pipe(err), 0);
  LogReadOptions all;
  ASSERT_TRUE(readLogs(path, all, out[1], err[1]));
  LogReadOptions tail;
  tail.tail = 1;
  tail.timestamps = true;
  ASSERT_TRUE(readLogs(path, tail, out[1], err[1]));
  ::close(out[1]);
  ::close(err[1]);
  std::string o = drain(out[0]);
  EXPECT_TRUE(o.starts_with("1\n2\n3")) << o;
  EXPECT_TRUE(o.ends_with("Z 3")) << o;
  EXPECT_EQ(drain(err[0]), "err\n");
  ::close(out[0]);
  ::close(err[0]);
  (void)removeAll(dir);
}

}  // namespace
}  // namespace hull::engine
