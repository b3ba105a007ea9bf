// Helpers shared by the build module's tests: a temporary directory removed with its contents,
// and plain file writes and reads.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include <gtest/gtest.h>

#include "base/fs.h"

namespace hull::build::testing {

class ScratchDir {
 public:
  // `prefix` names the directory under the temporary directory ("hull-cache-test").
  explicit ScratchDir(std::string_view prefix) {
    std::string tmpl = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes `path` (making its parent directories) with mode `mode`.
inline void writeText(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(writeFileAtomic(path, text, mode));
  ::chmod(path.c_str(), mode);
}

// The file's contents, "<missing>" when it cannot be read.
inline std::string readText(const fs::path& path) {
  auto text = readFile(path);
  return text ? *text : std::string("<missing>");
}

}  // namespace hull::build::testing
