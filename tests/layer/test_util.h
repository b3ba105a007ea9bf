// Helpers shared by the layer tests: temporary directories, in-memory streams, shell commands.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "layer/layer.h"

namespace hull::layer::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hull-layer-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)removeAll(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class StringReader : public Reader {
 public:
  explicit StringReader(std::string data, std::size_t chunk = 1 << 20)
      : data_(std::move(data)), chunk_(chunk) {}
  Result<std::size_t> read(void* out, std::size_t size) override {
    std::size_t n = std::min({size, chunk_, data_.size() - pos_});
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};

class StringWriter : public Writer {
 public:
  Result<void> write(const void* data, std::size_t size) override {
    data_.append(static_cast<const char*>(data), size);
    return {};
  }
  Result<void> finish() override {
    ++finished_;
    return {};
  }
  const std::string& data() const { return data_; }
  int finished() const { return finished_; }

 private:
  std::string data_;
  int finished_ = 0;
};

// Runs a shell command; returns its stdout, or fails the test on a non-zero exit.
inline std::string shell(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  std::string out;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  return out;
}

inline std::string sha256sumOf(const fs::path& file) {
  return "sha256:" + shell("sha256sum '" + file.string() + "'").substr(0, 64);
}

inline void writeString(const fs::path& file, std::string_view data) {
  ASSERT_TRUE(writeFileAtomic(file, data).has_value()) << file;
}

inline std::string readString(const fs::path& file) {
  auto r = readFile(file, 1u << 30);
  EXPECT_TRUE(r.has_value()) << file;
  return r ? *r : std::string();
}

// Compressible but not trivial data: text-like runs mixed with pseudo-random bytes.
inline std::string sampleData(std::size_t size, uint32_t seed = 1) {
  std::string s;
  s.reserve(size);
  uint32_t x = seed;
  while (s.size() < size) {
    x = x * 1103515245u + 12345u;
    if ((x >> 16) % 3 == 0) {
      s += "the quick brown fox " + std::to_string(x % 1000) + "\n";
    } else {
      s.push_back(static_cast<char>(x >> 24));
    }
  }
  s.resize(size);
  return s;
}

}  // namespace hull::layer::testing
