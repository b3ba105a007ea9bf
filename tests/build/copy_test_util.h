// Helpers shared by the COPY/ADD tests: temporary trees, tar archives made with libarchive
// (including hostile entries the tar(1) tool would refuse to write), and temp_dir_util.h's file
// writes and reads.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "build/copy.h"
#include "temp_dir_util.h"

namespace hull::build::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hull-copy-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)removeAll(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline mode_t modeOf(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

struct TarEntry {
  TarEntry(std::string n, std::string d = "", mode_t t = AE_IFREG, std::string l = "",
           bool h = false)
      : name(std::move(n)), data(std::move(d)), type(t), link(std::move(l)), hardlink(h) {}
  std::string name;
  std::string data;
  mode_t type = AE_IFREG;
  std::string link;  // symlink or hard link target
  bool hardlink = false;
};

// Writes a tar archive with the given filter ("none", "gzip", "bzip2", "xz", "zstd").
inline void writeTar(const fs::path& path, const std::vector<TarEntry>& entries,
                     const std::string& filter = "none") {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (filter == "gzip") archive_write_add_filter_gzip(a);
  if (filter == "bzip2") archive_write_add_filter_bzip2(a);
  if (filter == "xz") archive_write_add_filter_xz(a);
  if (filter == "zstd") archive_write_add_filter_zstd(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_mtime(entry, 1000, 0);
    if (e.hardlink) archive_entry_set_hardlink(entry, e.link.c_str());
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.link.c_str());
    if (e.type == AE_IFREG && !e.hardlink) archive_entry_set_size(entry, e.data.size());
    archive_write_header(a, entry);
    if (!e.data.empty() && !e.hardlink) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// Prepares and applies one COPY/ADD from `context` into `root`.
inline Result<void> copyInto(const fs::path& context, const fs::path& root, const CopySpec& spec,
                             const dockerfile::IgnoreMatcher* ignore = nullptr) {
  SourceTree tree;
  tree.root = context;
  tree.ignore = ignore;
  CopyEnv env;
  env.tmp_dir = "/tmp";
  HULL_ASSIGN_OR_RETURN(CopyOp op, CopyOp::prepare(tree, spec, env));
  return op.apply(root);
}

inline CopySpec spec(std::vector<std::string> sources, std::string dest) {
  CopySpec s;
  s.sources = std::move(sources);
  s.dest = std::move(dest);
  return s;
}

// The same as an ADD.
inline CopySpec addSpec(std::vector<std::string> sources, std::string dest) {
  CopySpec s = spec(std::move(sources), std::move(dest));
  s.add = true;
  return s;
}

}  // namespace hull::build::testing
