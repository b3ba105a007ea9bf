#include "engine/pipe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace hull::engine {
namespace {

// Hands out `data` a few odd-sized pieces at a time, then fails after `fail_after` bytes if set.
class PieceReader : public layer::Reader {
 public:
  PieceReader(std::string data, std::size_t fail_after = std::string::npos)
      : data_(std::move(data)), fail_after_(fail_after) {}
  Result<std::size_t> read(void* out, std::size_t size) override {
    if (pos_ >= fail_after_) return fail(Errc::kIo, "read failed");
    std::size_t n = std::min({size, data_.size() - pos_, std::size_t{7}, fail_after_ - pos_});
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string data_;
  std::size_t fail_after_;
  std::size_t pos_ = 0;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 31 + i / 97) % 26);
  return s;
}

TEST(PipeTest, DeliversEveryByteInOrderInFullChunks) {
  for (std::size_t buffers : {1u, 2u, 3u}) {
    for (std::size_t total : {0u, 1u, 63u, 64u, 65u, 1000u}) {
      std::string data = pattern(total);
      PieceReader in(data);
      std::string got;
      std::vector<std::size_t> sizes;
      auto r = pipeStream(in,
                          [&](const char* p, std::size_t n) -> Result<void> {
                            got.append(p, n);
                            sizes.push_back(n);
                            return {};
                          },
                          {.buffer_size = 64, .buffers = buffers});
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(got, data) << total << " bytes, " << buffers << " buffers";
      for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 64u);
      for (std::size_t n : sizes) EXPECT_GT(n, 0u) << "no empty chunk is handed out";
    }
  }
}

TEST(PipeTest, ProducerErrorComesAfterTheBytesReadBeforeIt) {
  std::string data = pattern(1000);
  PieceReader in(data, /*fail_after=*/300);
  std::string got;
  auto r = pipeStream(in,
                      [&](const char* p, std::size_t n) -> Result<void> {
                        got.append(p, n);
                        return {};
                      },
                      {.buffer_size = 64, .buffers = 3});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_EQ(r.error().message, "read failed");
  EXPECT_EQ(got, data.substr(0, 256)) << "the full chunks before the failure";
}

TEST(PipeTest, ConsumerErrorStopsTheProducer) {
  std::string data = pattern(1 << 20);
  PieceReader in(data);
  int calls = 0;
  auto r = pipeStream(in,
                      [&](const char*, std::size_t) -> Result<void> {
                        if (++calls == 2) return fail(Errc::kCorrupt, "enough");
                        return {};
                      },
                      {.buffer_size = 64, .buffers = 4});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "enough");
  EXPECT_EQ(calls, 2);
  // The producer may have filled the buffers in flight, but no more.
  EXPECT_LE(in.pos(), 64u * 6);
}

}  // namespace
}  // namespace hull::engine
