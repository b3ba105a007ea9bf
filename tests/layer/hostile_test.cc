// The hostile-layer corpus (tests/testdata/layer/make_hostile.py): every case must either fail
// with its expected message or stay inside the destination, and nothing outside may change.
#include <sys/stat.h>

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layer/layer.h"
#include "test_util.h"

namespace hull::layer {
namespace {

using ::testing::HasSubstr;
using testing::readString;
using testing::shell;
using testing::TempDir;

struct Case {
  const char* name;
  const char* apply_error;   // "" when applying must succeed
  const char* import_error;  // "" when importing must succeed
};

const Case kCases[] = {
    {"dotdot_escape", "\"..\" escapes the layer root", "\"..\" escapes the layer root"},
    {"dotdot_nested", "\"..\" escapes the layer root", "\"..\" escapes the layer root"},
    {"dotdot_whiteout_dir", "\"..\" escapes the layer root", "\"..\" escapes the layer root"},
    {"abs_symlink_write", "a symlink to a missing directory", ""},
    {"rel_symlink_write", "a symlink to a missing directory", ""},
    {"abs_name_through_symlink", "a symlink to a missing directory", ""},
    {"symlink_etc_then_file", "", ""},
    {"symlink_chain", "", ""},
    {"file_over_symlink", "", ""},
    {"hardlink_etc_passwd", "hard link target \"etc/passwd\" does not exist", ""},
    {"hardlink_dotdot", "hard link target \"../outside/canary\": \"..\" escapes",
     "hard link target \"../outside/canary\": \"..\" escapes"},
    {"hardlink_missing", "hard link target \"nope\" does not exist", ""},
    {"hardlink_via_symlink_dir", "hard link target \"s/canary\" does not exist", ""},
    {"char_device", "device nodes and fifos are not allowed", ""},
    {"block_device", "device nodes and fifos are not allowed", ""},
    {"fifo", "device nodes and fifos are not allowed", ""},
    {"setuid_file", "", ""},
    {"nul_in_ustar_name", "", ""},
    {"nul_in_pax_path", "", ""},
    {"path_5000", "name is 4999 bytes, the limit is 4095", "name is 4999 bytes, the limit is 4095"},
    {"component_300", "a component is 300 bytes, the limit is 255",
     "a component is 300 bytes, the limit is 255"},
    {"truncated_tar", "truncated tar archive at entry \"big\"",
     "truncated tar archive at entry \"big\""},
    {"truncated_gzip", "truncated gzip stream", "truncated gzip stream"},
    {"garbage", "not a tar archive", "not a tar archive"},
    {"zero_length", "empty input: not a tar archive", "empty input: not a tar archive"},
    {"bad_checksum", "corrupt tar header after entry \"big\"",
     "corrupt tar header after entry \"big\""},
    {"whiteout_dotdot", "invalid whiteout name", "invalid whiteout name"},
    {"whiteout_through_symlink", "", ""},
    {"opaque_in_symlinked_dir", "", ""},
    {"dir_replaced_by_symlink", "a symlink to a missing directory", ""},
    {"huge_size_short_data", "truncated tar archive at entry \"huge\"",
     "truncated tar archive at entry \"huge\""},
    {"socket_type", "", ""},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Every path under a directory with its type, mode and content: what "untouched" means.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string v = std::to_string(st.st_mode) + ":" + std::to_string(st.st_mtim.tv_sec);
    if (S_ISREG(st.st_mode)) v += ":" + readString(e.path());
    out[e.path().lexically_relative(dir).string()] = v;
  }
  return out;
}

// Where a hostile case is contained rather than refused, its content lands inside dest.
void checkContained(std::string_view name, const fs::path& dest) {
  std::string listing;
  for (auto& e : fs::recursive_directory_iterator(dest)) {
    listing += e.path().lexically_relative(dest).string() + (e.is_symlink() ? "@" : "") + " ";
  }
  struct stat st {};
  if (name == "symlink_etc_then_file") {
    EXPECT_EQ(readString(dest / "etc/hull-pwned"), "x");
  } else if (name == "symlink_chain") {
    EXPECT_EQ(readString(dest / "pwned"), "x");
  } else if (name == "file_over_symlink") {
    ASSERT_EQ(::lstat((dest / "f").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(readString(dest / "f"), "replaced");
  } else if (name == "setuid_file") {
    ASSERT_EQ(::lstat((dest / "su").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
  } else if (name == "nul_in_ustar_name" || name == "nul_in_pax_path") {
    EXPECT_EQ(listing, "ok ");  // the name ends at the NUL, as tar(1) reads it
  } else if (name == "whiteout_through_symlink" || name == "opaque_in_symlinked_dir") {
    EXPECT_EQ(listing, "s@ ");
  } else if (name == "socket_type") {
    EXPECT_EQ(listing, "sock ");  // unknown type flags are regular files (POSIX)
  }
}

class HostileTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    fs::create_directories(root_->path() / "outside");
    testing::writeString(root_->path() / "outside" / "canary", "canary");
    const char* data = std::getenv("HULL_TESTDATA");
    std::string script = std::string(data ? data : HULL_TESTDATA) + "/layer/make_hostile.py";
    shell("/usr/bin/python3 '" + script + "' '" + (root_->path() / "corpus").string() + "' '" +
          (root_->path() / "outside").string() + "'");
  }
  static void TearDownTestSuite() { delete root_; }

  static fs::path corpus(const Case& c) {
    return root_->path() / "corpus" / (std::string(c.name) + ".tar");
  }
  static TempDir* root_;
};
TempDir* HostileTest::root_ = nullptr;

TEST_P(HostileTest, ApplyFailsOrStaysInside) {
  const Case& c = GetParam();
  fs::path dest = root_->path() / (std::string("dest-") + c.name);
  fs::create_directories(dest);
  auto outside_before = snapshot(root_->path() / "outside");
  auto top_before = snapshot(root_->path());

  UniqueFd fd(::open(corpus(c).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  auto in = fdReader(fd.get());
  auto stats = applyLayer(*in, dest, ApplyOptions{});
  if (*c.apply_error) {
    ASSERT_FALSE(stats.has_value()) << c.name << " was applied";
    EXPECT_THAT(stats.error().message, HasSubstr(c.apply_error));
    EXPECT_EQ(stats.error().message.find('\n'), std::string::npos);
  } else {
    ASSERT_TRUE(stats.has_value()) << c.name << ": " << stats.error().message;
  }
  EXPECT_EQ(snapshot(root_->path() / "outside"), outside_before) << c.name;
  // Only the destination itself may have changed under the shared temporary directory.
  auto top_after = snapshot(root_->path());
  std::erase_if(top_after,
                [&](auto& kv) { return kv.first.starts_with(dest.filename().string()); });
  std::erase_if(top_before,
                [&](auto& kv) { return kv.first.starts_with(dest.filename().string()); });
  EXPECT_EQ(top_after, top_before) << c.name;
  if (!*c.apply_error) checkContained(c.name, dest);
  EXPECT_FALSE(fs::exists("/etc/hull-pwned"));
  EXPECT_FALSE(fs::exists(root_->path() / "pwned"));
}

TEST_P(HostileTest, ImportChecksHeaders) {
  const Case& c = GetParam();
  UniqueFd fd(::open(corpus(c).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  auto in = fdReader(fd.get());
  testing::StringWriter out;
  auto info = importTarball(*in, out, Compression::kGzip);
  if (*c.import_error) {
    ASSERT_FALSE(info.has_value()) << c.name << " was imported";
    EXPECT_THAT(info.error().message, HasSubstr(c.import_error));
    EXPECT_TRUE(info.error().code == Errc::kCorrupt || info.error().code == Errc::kInvalidArgument);
  } else {
    ASSERT_TRUE(info.has_value()) << c.name << ": " << info.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, HostileTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hull::layer
