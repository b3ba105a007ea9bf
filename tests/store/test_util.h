// Shared fixtures for the store tests: a temporary store root and small images built in it.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/digest.h"
#include "base/fs.h"
#include "oci/image.h"
#include "oci/media_types.h"
#include "store/store.h"

namespace hull::store::testing {

// The annotation that names an index.json entry, as a json key.
inline const std::string kRefName(oci::kAnnotationRefName);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hull-store-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeText(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

inline std::vector<std::string> listDir(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// An empty tar archive: two zero blocks. Real consumers accept it as a layer.
inline std::string emptyTar() { return std::string(1024, '\0'); }

struct TestImage {
  oci::Descriptor manifest;
  oci::Descriptor config;
  std::vector<oci::Descriptor> layers;
};

// Builds an image from uncompressed layers; `author` varies the config (and so the image ID).
// On failure the manifest digest is left empty (and the failure recorded).
inline TestImage putImage(const Store& store, const std::vector<std::string>& layers,
                          const std::string& author = "") {
  TestImage img;
  oci::ImageConfig cfg;
  cfg.architecture = "amd64";
  cfg.os = "linux";
  cfg.author = author;
  oci::Manifest m;
  m.media_type = std::string(oci::kMediaTypeImageManifest);
  for (const auto& l : layers) {
    auto d = store.putBlob(oci::kMediaTypeLayer, l);
    if (!d) {
      ADD_FAILURE() << "put layer: " << d.error().message;
      return TestImage{};
    }
    img.layers.push_back(*d);
    cfg.diff_ids.push_back(d->digest);
    m.layers.push_back(*d);
  }
  auto c = store.putBlob(oci::kMediaTypeImageConfig, oci::serialize(cfg));
  if (!c) {
    ADD_FAILURE() << "put config: " << c.error().message;
    return TestImage{};
  }
  img.config = *c;
  m.config = *c;
  auto md = store.putBlob(oci::kMediaTypeImageManifest, oci::serialize(m));
  if (!md) {
    ADD_FAILURE() << "put manifest: " << md.error().message;
    return TestImage{};
  }
  img.manifest = *md;
  return img;
}

inline void flipByte(const fs::path& p, std::size_t offset = 0) {
  std::string data = readText(p);
  ASSERT_LT(offset, data.size());
  data[offset] = static_cast<char>(data[offset] ^ 0x01);
  writeText(p, data);
}

// Runs a command line; returns its exit status and captured stdout+stderr.
inline int runShell(const std::string& cmd, std::string* output) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A fresh store in a temporary directory for each test.
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    auto s = Store::open(root());
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
  }
  fs::path root() { return dir_.path() / "root"; }
  const Store& store() { return *store_; }

  TempDir dir_;
  std::optional<Store> store_;
};

}  // namespace hull::store::testing
