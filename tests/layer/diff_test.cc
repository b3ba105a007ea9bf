// writeDiff over overlay upper dirs: whiteouts, opaque dirs, order, clamped times, determinism.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
// Not glibc's major()/minor() macros (gnu_dev_major() and gnu_dev_minor() instead): in a unity
// build they would rewrite members of those names (gpu::Version) in the files that follow.
#undef major
#undef minor
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "layer/layer.h"
#include "test_util.h"

namespace hull::layer {
namespace {

using testing::StringWriter;
using testing::TempDir;
using testing::writeString;

struct Entry {
  std::string name;
  mode_t type = 0;
  mode_t perm = 0;
  int64_t mtime = 0;
  int64_t size = 0;
  std::string hardlink;
  std::map<std::string, std::string> xattrs;
  bool has_atime = false;
  std::string uname;
};

std::vector<Entry> readTar(const std::string& tar) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  std::vector<Entry> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry x;
    x.name = archive_entry_pathname(e);
    x.type = archive_entry_filetype(e);
    x.perm = archive_entry_perm(e);
    x.mtime = archive_entry_mtime(e);
    x.size = archive_entry_size(e);
    if (const char* h = archive_entry_hardlink(e)) x.hardlink = h;
    if (const char* u = archive_entry_uname(e)) x.uname = u;
    x.has_atime = archive_entry_atime_is_set(e) != 0;
    archive_entry_xattr_reset(e);
    const char* key;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      x.xattrs[key] = std::string(static_cast<const char*>(value), size);
    }
    out.push_back(std::move(x));
  }
  archive_read_free(a);
  return out;
}

std::vector<std::string> names(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

DiffOptions clampedTo(int64_t epoch) {
  DiffOptions o;
  o.source_date_epoch = epoch;
  return o;
}

std::string diffOf(const fs::path& dir, const DiffOptions& options = {}) {
  StringWriter out;
  auto n = writeDiff(dir, out, options);
  EXPECT_TRUE(n.has_value()) << (n ? "" : n.error().message);
  EXPECT_EQ(out.finished(), 1);
  return out.data();
}

class DiffTest : public ::testing::Test {
 protected:
  fs::path path(const std::string& p) { return dir_.path() / p; }
  void file(const std::string& p, const std::string& data = "x") {
    ASSERT_TRUE(mkdirAll(path(p).parent_path(), 0755).has_value());
    writeString(path(p), data);
  }
  bool root() const { return ::geteuid() == 0; }
  TempDir dir_;
};

TEST_F(DiffTest, SortedNumericOwnersNoAtime) {
  file("b/z");
  file("a-b");
  file("a/x");
  file("A");
  auto entries = readTar(diffOf(dir_.path()));
  EXPECT_EQ(names(entries), (std::vector<std::string>{"A", "a/", "a/x", "a-b", "b/", "b/z"}));
  for (const auto& e : entries) {
    EXPECT_TRUE(e.uname.empty()) << e.name;
    EXPECT_FALSE(e.has_atime) << e.name;
  }
}

TEST_F(DiffTest, WhiteoutsAndOpaqueDirs) {
  if (!root()) GTEST_SKIP() << "needs root (mknod, trusted xattrs)";
  file("keep");
  // A container without CAP_MKNOD (or with a device cgroup) cannot make the node.
  if (::mknod(path("gone").c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    GTEST_SKIP() << "mknod is not permitted here: " << std::strerror(errno);
  }
  ASSERT_TRUE(mkdirAll(path("opq"), 0750).has_value());
  ASSERT_EQ(::chmod(path("opq").c_str(), 0750), 0);
  file("opq/-first");
  file("opq/new");
  ASSERT_EQ(::setxattr(path("opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::setxattr(path("keep").c_str(), "user.note", "hi", 2, 0), 0);
  auto entries = readTar(diffOf(dir_.path()));
  EXPECT_EQ(names(entries), (std::vector<std::string>{".wh.gone", "keep", "opq/", "opq/-first",
                                                      "opq/.wh..wh..opq", "opq/new"}));
  EXPECT_EQ(entries[0].type, AE_IFREG);
  EXPECT_EQ(entries[0].size, 0);
  EXPECT_EQ(entries[1].xattrs, (std::map<std::string, std::string>{{"user.note", "hi"}}));
  EXPECT_TRUE(entries[2].xattrs.empty()) << "trusted.overlay.* must not reach the layer";
  EXPECT_EQ(entries[4].type, AE_IFREG);
  EXPECT_EQ(entries[4].perm, 0750u);
}

TEST_F(DiffTest, WithoutOverlayDevicesStayDevices) {
  if (!root()) GTEST_SKIP() << "needs root (mknod)";
  DiffOptions plain;
  plain.overlay = false;
  // A container without CAP_MKNOD (or with a device cgroup) cannot make the node.
  if (::mknod(path("dev").c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0) {
    GTEST_SKIP() << "mknod is not permitted here: " << std::strerror(errno);
  }
  auto entries = readTar(diffOf(dir_.path(), plain));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "dev");
  EXPECT_EQ(entries[0].type, AE_IFCHR);
}

TEST_F(DiffTest, HardLinksInsideTheLayer) {
  file("a", "same");
  ASSERT_EQ(::link(path("a").c_str(), path("b").c_str()), 0);
  auto entries = readTar(diffOf(dir_.path()));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].name, "b");
  EXPECT_EQ(entries[1].hardlink, "a");
}

TEST_F(DiffTest, TimesClampedToSourceDateEpoch) {
  file("new");
  file("old");
  timespec times[2] = {{.tv_sec = 1000, .tv_nsec = 0}, {.tv_sec = 1000, .tv_nsec = 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path("old").c_str(), times, 0), 0);
  auto entries = readTar(diffOf(dir_.path(), clampedTo(5000)));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].mtime, 5000);  // new: clamped
  EXPECT_EQ(entries[1].mtime, 1000);  // old: kept
}

TEST_F(DiffTest, SameTreeTwiceSameBytes) {
  file("d/one", std::string(100000, 'a'));
  file("d/two", "b");
  std::string first = diffOf(dir_.path(), clampedTo(0));
  // Touching files changes nothing under a clamp.
  timespec now[2] = {{.tv_sec = 0, .tv_nsec = UTIME_NOW}, {.tv_sec = 0, .tv_nsec = UTIME_NOW}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path("d/one").c_str(), now, 0), 0);
  EXPECT_EQ(diffOf(dir_.path(), clampedTo(0)), first);
}

TEST_F(DiffTest, LayerHashesOneStream) {
  file("a", testing::sampleData(3 << 20));
  file("b/c", "c");
  std::string tar = diffOf(dir_.path(), clampedTo(0));
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    StringWriter out;
    auto info = writeDiffLayer(dir_.path(), out, c, clampedTo(0));
    ASSERT_TRUE(info.has_value()) << info.error().message;
    EXPECT_EQ(info->diff_id, Digest::ofBytes(tar));
    EXPECT_EQ(info->uncompressed_size, static_cast<int64_t>(tar.size()));
    EXPECT_EQ(info->digest, Digest::ofBytes(out.data()));
    EXPECT_EQ(info->size, static_cast<int64_t>(out.data().size()));
    EXPECT_EQ(info->entries, 3);
    EXPECT_EQ(out.finished(), 1);
  }
}

}  // namespace
}  // namespace hull::layer
