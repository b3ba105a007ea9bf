#include "gpu/elf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "base/fs.h"

namespace hull::gpu {
namespace {

// A minimal shared object written byte by byte: an ELF header, PT_LOAD + PT_DYNAMIC (or, in
// section mode, SHT_DYNAMIC + SHT_STRTAB section headers), a dynamic array (DT_STRTAB, DT_STRSZ,
// DT_SONAME, DT_NULL) and a string table holding "libfoo.so.1".
struct Elf {
  bool is64, le;
  std::string bytes;
  uint64_t phoff = 0, dyn = 0, str = 0, shoff = 0;
  static constexpr uint64_t kBase = 0x400000;
  static constexpr std::string_view kStrtab{"\0libfoo.so.1\0", 13};

  void put(uint64_t at, unsigned width, uint64_t v) {
    if (bytes.size() < at + width) bytes.resize(at + width);
    for (unsigned i = 0; i < width; i++) {
      unsigned shift = 8 * (le ? i : width - 1 - i);
      bytes[at + i] = static_cast<char>((v >> shift) & 0xff);
    }
  }
  void word(uint64_t at, uint64_t v) { put(at, is64 ? 8 : 4, v); }
  // Field offsets in the two layouts.
  uint64_t o(unsigned off64, unsigned off32) const { return is64 ? off64 : off32; }
  uint64_t dynEntry(int i) const { return dyn + static_cast<uint64_t>(i) * (is64 ? 16 : 8); }

  Elf(bool is64_, bool le_, bool sections = false) : is64(is64_), le(le_) {
    uint64_t eh = is64 ? 64 : 52, ph = is64 ? 56 : 32, sh = is64 ? 64 : 40, de = is64 ? 16 : 8;
    phoff = eh;
    dyn = phoff + 2 * ph;
    str = dyn + 4 * de;
    shoff = str + kStrtab.size();
    bytes.assign(eh, '\0');
    bytes.replace(0, 4,
                  "\x7f"
                  "ELF");
    bytes[4] = is64 ? 2 : 1;
    bytes[5] = le ? 1 : 2;
    bytes[6] = 1;
    put(16, 2, 3);  // ET_DYN
    put(20, 4, 1);
    put(o(52, 40), 2, eh);
    if (!sections) {
      word(o(32, 28), phoff);
      put(o(54, 42), 2, ph);
      put(o(56, 44), 2, 2);
    } else {
      word(o(40, 32), shoff);
      put(o(58, 46), 2, sh);
      put(o(60, 48), 2, 3);
    }
    uint64_t total = shoff + (sections ? 3 * sh : 0);
    if (!sections) {
      phdr(0, 1, 0, kBase, total);           // PT_LOAD: the whole file
      phdr(1, 2, dyn, kBase + dyn, 4 * de);  // PT_DYNAMIC
    }
    dynamic(0, 5, kBase + str);      // DT_STRTAB
    dynamic(1, 10, kStrtab.size());  // DT_STRSZ
    dynamic(2, 14, 1);               // DT_SONAME
    dynamic(3, 0, 0);                // DT_NULL
    bytes.resize(str);
    bytes.append(kStrtab);
    if (sections) {
      bytes.resize(total);
      section(1, 6, dyn, 4 * de, 2);
      section(2, 3, str, kStrtab.size(), 0);
    }
  }
  void phdr(int i, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t size) {
    uint64_t b = phoff + static_cast<uint64_t>(i) * (is64 ? 56 : 32);
    put(b, 4, type);
    word(b + o(8, 4), off);
    word(b + o(16, 8), vaddr);
    word(b + o(32, 16), size);
    word(b + o(40, 20), size);
  }
  void dynamic(int i, uint64_t tag, uint64_t val) {
    word(dynEntry(i), tag);
    word(dynEntry(i) + (is64 ? 8 : 4), val);
  }
  void section(int i, uint32_t type, uint64_t off, uint64_t size, uint32_t link) {
    uint64_t b = shoff + static_cast<uint64_t>(i) * (is64 ? 64 : 40);
    put(b + 4, 4, type);
    word(b + o(24, 16), off);
    word(b + o(32, 20), size);
    put(b + o(40, 24), 4, link);
  }
};

std::string errorOf(std::string_view bytes) {
  auto r = elfSoname(bytes);
  EXPECT_FALSE(r.has_value());
  return r ? std::string("(no error)") : r.error().message;
}

class ElfLayouts : public ::testing::TestWithParam<std::tuple<bool, bool, bool>> {};

TEST_P(ElfLayouts, ReadsSoname) {
  auto [is64, le, sections] = GetParam();
  Elf e(is64, le, sections);
  auto r = elfSoname(e.bytes);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->value_or("(none)"), "libfoo.so.1");
}

TEST_P(ElfLayouts, EveryTruncationFailsCleanly) {
  auto [is64, le, sections] = GetParam();
  Elf e(is64, le, sections);
  for (size_t n = 0; n < e.bytes.size(); n++) {
    auto r = elfSoname(std::string_view(e.bytes).substr(0, n));
    // Whatever is cut off, the answer is an error or no soname, never a read past the end.
    if (r.has_value()) {
      EXPECT_FALSE(r->has_value()) << "prefix of " << n << " bytes";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, ElfLayouts,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                                            ::testing::Bool()));

TEST(ElfSoname, RejectsWhatIsNotElf) {
  EXPECT_EQ(errorOf(""), "not an ELF file");
  EXPECT_EQ(errorOf("#!/bin/sh\necho hi\n"), "not an ELF file");
  EXPECT_EQ(errorOf(std::string_view("\x7f"
                                     "ELF",
                                     4)),
            "not an ELF file");
  Elf e(true, true);
  EXPECT_EQ(errorOf(std::string_view(e.bytes).substr(0, 40)), "truncated ELF header");
  e.bytes[4] = 3;
  EXPECT_EQ(errorOf(e.bytes), "ELF class 3 is neither 32 nor 64 bit");
  Elf f(true, true);
  f.bytes[5] = 0;
  EXPECT_EQ(errorOf(f.bytes), "ELF byte order 0 is neither little nor big endian");
}

TEST(ElfSoname, RejectsHeadersOutsideTheFile) {
  Elf e(true, true);
  e.word(32, e.bytes.size() - 8);  // e_phoff near the end
  EXPECT_EQ(errorOf(e.bytes), "ELF program headers lie outside the file");
  Elf f(true, true);
  f.word(32, ~uint64_t{0} - 16);  // offset + size overflows
  EXPECT_EQ(errorOf(f.bytes), "ELF program headers lie outside the file");
  Elf g(false, false);
  g.put(44, 2, 0xffff);  // e_phnum
  EXPECT_EQ(errorOf(g.bytes), "ELF program headers lie outside the file");
  Elf h(true, true);
  h.put(54, 2, 8);  // e_phentsize smaller than a program header
  EXPECT_EQ(errorOf(h.bytes), "ELF program header size 8 is too small");
  Elf s(true, false, true);
  s.word(40, 1u << 30);
  EXPECT_EQ(errorOf(s.bytes), "ELF section headers lie outside the file");
}

TEST(ElfSoname, RejectsDynamicSectionOutsideTheFile) {
  Elf e(true, true);
  e.word(e.phoff + 56 + 8, 1u << 20);  // PT_DYNAMIC p_offset
  EXPECT_EQ(errorOf(e.bytes), "ELF dynamic section lies outside the file");
  Elf f(false, true);
  f.word(f.phoff + 32 + 16, 0xffffffff);  // PT_DYNAMIC p_filesz
  EXPECT_EQ(errorOf(f.bytes), "ELF dynamic section lies outside the file");
}

TEST(ElfSoname, RejectsStringTableOutOfRange) {
  Elf e(true, true);
  e.dynamic(0, 5, 0x10);  // DT_STRTAB below every segment
  EXPECT_EQ(errorOf(e.bytes), "ELF string table address 0x10 is in no loaded segment");
  Elf f(true, false);
  f.dynamic(2, 14, 13);  // DT_SONAME at the end of the 13-byte table
  EXPECT_EQ(errorOf(f.bytes), "ELF soname offset 13 lies outside the string table");
  Elf g(false, true);
  g.dynamic(2, 14, ~uint32_t{0});
  EXPECT_EQ(errorOf(g.bytes), "ELF soname offset 4294967295 lies outside the string table");
  Elf s(true, true, true);
  s.section(2, 3, 1u << 30, 13, 0);
  EXPECT_EQ(errorOf(s.bytes), "ELF string table lies outside the file");
  Elf t(true, true, true);
  t.section(1, 6, t.dyn, 64, 9);
  EXPECT_EQ(errorOf(t.bytes), "ELF dynamic section links to section 9 of 3");
  Elf u(true, true);
  u.dynamic(0, 7, 0);  // DT_RELA instead of DT_STRTAB
  EXPECT_EQ(errorOf(u.bytes), "ELF dynamic section has DT_SONAME but no DT_STRTAB");
}

TEST(ElfSoname, RejectsUnterminatedSoname) {
  Elf e(true, true);
  e.dynamic(1, 10, 12);  // DT_STRSZ stops before the NUL
  EXPECT_EQ(errorOf(e.bytes), "ELF soname is not NUL-terminated");
  Elf f(false, false);
  f.bytes.pop_back();  // the file itself ends before the NUL
  f.phdr(0, 1, 0, Elf::kBase, f.bytes.size());
  f.dynamic(1, 10, 100);
  EXPECT_EQ(errorOf(f.bytes), "ELF soname is not NUL-terminated");
}

TEST(ElfSoname, NoDynamicSectionOrNoSonameIsNone) {
  Elf e(true, true);
  e.put(e.phoff + 56, 4, 4);  // PT_DYNAMIC -> PT_NOTE: a static executable
  auto r = elfSoname(e.bytes);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->has_value());
  Elf f(false, true);
  f.dynamic(2, 1, 1);  // DT_SONAME -> DT_NEEDED
  r = elfSoname(f.bytes);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->has_value());
  Elf g(true, false, true);
  g.put(60, 2, 0);  // no sections, no segments: a bare header
  r = elfSoname(g.bytes);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->has_value());
}

TEST(ElfSonameOfFile, ReadsTheSystemLibc) {
  const char* libc = "/lib/x86_64-linux-gnu/libc.so.6";
  if (::access(libc, R_OK) != 0) GTEST_SKIP() << libc << " is not here";
  auto r = elfSonameOfFile(libc);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->value_or("(none)"), "libc.so.6");
}

TEST(ElfSonameOfFile, NamesThePathInErrors) {
  std::string path = ::testing::TempDir() + "/not-elf-" + std::to_string(::getpid());
  ASSERT_TRUE(writeFileAtomic(path, "hello").has_value());
  auto r = elfSonameOfFile(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, path + ": not an ELF file");
  EXPECT_FALSE(elfSonameOfFile(::testing::TempDir() + "/missing").has_value());
  auto dir = elfSonameOfFile("/");
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().message, "/: not a regular file");
  auto empty = elfSonameOfFile("/dev/null");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "/dev/null: not a regular file");
}

TEST(ElfSonameOfFile, ReadsTheFakeDriverLibraries) {
  if (std::system("command -v gcc >/dev/null") != 0) GTEST_SKIP() << "gcc is not installed";
  std::string root = ::testing::TempDir() + "/elf-fake-root-" + std::to_string(::getpid());
  std::string cmd = std::string(HULL_SOURCE_DIR) + "/tests/fakes/nvidia-driver/make-root.sh " +
                    root + " --no-nodes";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string lib = root + "/usr/lib/x86_64-linux-gnu/";
  EXPECT_EQ(elfSonameOfFile(lib + "libcuda.so.550.54.14")->value_or(""), "libcuda.so.1");
  EXPECT_EQ(elfSonameOfFile(lib + "libcuda.so.470.1")->value_or(""), "libcuda.so.1");
  EXPECT_EQ(elfSonameOfFile(lib + "libnvidia-nvvm.so.550.54.14")->value_or(""),
            "libnvidia-nvvm.so.4");
  EXPECT_EQ(elfSonameOfFile(lib + "libnvidia-glcore.so.550.54.14")->value_or(""),
            "libnvidia-glcore.so.550.54.14");
  auto smi = elfSonameOfFile(root + "/usr/bin/nvidia-smi");
  ASSERT_FALSE(smi.has_value());
  EXPECT_EQ(smi.error().message, root + "/usr/bin/nvidia-smi: not an ELF file");
  std::filesystem::remove_all(root);
}

// Bit flips and truncations of a real library: any answer is fine, a crash or a hang is not
// (run under ASan to catch reads past the end).
TEST(ElfSoname, SurvivesCorruptedRealLibrary) {
  auto bytes = readFile("/lib/x86_64-linux-gnu/libc.so.6", 16u << 20);
  if (!bytes) GTEST_SKIP() << "no libc to corrupt";
  std::string head = bytes->substr(0, 64 << 10);  // headers, dynamic section, dynstr
  std::mt19937_64 rng(42);
  for (int i = 0; i < 3000; i++) {
    std::string copy = head;
    for (int flips = 0; flips < 4; flips++) {
      size_t at = rng() % std::min<size_t>(copy.size(), i % 2 ? 64 : 4096);
      copy[at] = static_cast<char>(copy[at] ^ (1u << (rng() % 8)));
    }
    (void)elfSoname(copy);
    (void)elfSoname(std::string_view(copy).substr(0, rng() % copy.size()));
  }
}

}  // namespace
}  // namespace hull::gpu
