// Shared fixtures for the engine tests.
#pragma once

#include <fcntl.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "layer/layer.h"

namespace hull::engine::testing {

// A container ID for the tests that plan containers.
inline const std::string kContainerId =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// This process's mount table (/proc/self/mountinfo).
inline std::string mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under the system temp dir (the caller removes it).
inline fs::path freshTempDir(std::string_view prefix) {
  return fs::temp_directory_path() / fs::path(uniquePath("", prefix)).filename();
}

// Writes dir/rootfs.tar: a small root file system with an executable and one data file of
// `data_size` bytes named `data_name`.
inline void makeRootfsTar(const fs::path& dir, const std::string& data_name,
                          std::size_t data_size) {
  ASSERT_TRUE(mkdirAll(dir / "rootfs/bin"));
  ASSERT_TRUE(writeFileAtomic(dir / "rootfs/bin/hello", "#!/bin/sh\necho hello\n", 0755));
  ASSERT_TRUE(writeFileAtomic(dir / "rootfs" / data_name, std::string(data_size, 'm')));
  auto out = openFile(dir / "rootfs.tar", O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(out);
  auto writer = layer::fdWriter(out->get());
  ASSERT_TRUE(layer::writeTree(dir / "rootfs", *writer));
  ASSERT_TRUE(writer->finish());
}

}  // namespace hull::engine::testing
