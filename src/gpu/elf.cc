// DT_SONAME, read the way the dynamic loader finds it: PT_DYNAMIC names the dynamic array, whose
// DT_STRTAB is a virtual address that a PT_LOAD segment maps to a file offset. Files without
// program headers (rare, but objcopy can make them) fall back to the SHT_DYNAMIC section and the
// string table its sh_link names. The input is untrusted: every read goes through Reader, which
// checks bounds with overflow-safe arithmetic.
#include "gpu/elf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "base/scope_exit.h"

namespace hull::gpu {
namespace {

constexpr uint32_t kPtLoad = 1, kPtDynamic = 2, kShtDynamic = 6;
constexpr uint64_t kDtNull = 0, kDtStrtab = 5, kDtStrsz = 10, kDtSoname = 14;

bool inRange(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

class Reader {
 public:
  Reader(std::string_view bytes, bool is64, bool little) : b_(bytes), is64_(is64), le_(little) {}
  uint64_t size() const { return b_.size(); }
  bool is64() const { return is64_; }
  // Unsigned integer of `width` bytes at `offset`; false when it is past the end.
  bool uint(uint64_t offset, unsigned width, uint64_t* out) const {
    if (!inRange(offset, width, b_.size())) return false;
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++) {
      auto byte = static_cast<unsigned char>(b_[offset + (le_ ? width - 1 - i : i)]);
      v = (v << 8) | byte;
    }
    *out = v;
    return true;
  }
  // An address-sized field (Elf32_Addr/Off/Word vs Elf64_Addr/Off/Xword).
  bool word(uint64_t offset, uint64_t* out) const { return uint(offset, is64_ ? 8 : 4, out); }
  std::string_view bytes() const { return b_; }

 private:
  std::string_view b_;
  bool is64_, le_;
};

struct Segment {
  uint64_t offset = 0, vaddr = 0, filesz = 0;
};

struct Table {
  uint64_t offset = 0, entsize = 0, count = 0;
};

Result<Table> headerTable(const Reader& r, bool program) {
  // e_phoff/e_shoff, then e_phentsize/e_phnum or e_shentsize/e_shnum.
  uint64_t off_at = r.is64() ? (program ? 32 : 40) : (program ? 28 : 32);
  uint64_t ent_at = r.is64() ? (program ? 54 : 58) : (program ? 42 : 46);
  Table t;
  if (!r.word(off_at, &t.offset) || !r.uint(ent_at, 2, &t.entsize) ||
      !r.uint(ent_at + 2, 2, &t.count)) {
    return fail(Errc::kInvalidArgument, "truncated ELF header");
  }
  if (t.count == 0) return t;
  uint64_t min_size = program ? (r.is64() ? 56 : 32) : (r.is64() ? 64 : 40);
  const char* what = program ? "program" : "section";
  if (t.entsize < min_size) {
    return fail(Errc::kInvalidArgument,
                fmt::format("ELF {} header size {} is too small", what, t.entsize));
  }
  if (!inRange(t.offset, t.entsize * t.count, r.size())) {
    return fail(Errc::kInvalidArgument, fmt::format("ELF {} headers lie outside the file", what));
  }
  return t;
}

// Reads an ELF64 or ELF32 struct field: `f64` and `f32` are its offsets in the two layouts.
uint64_t field(const Reader& r, uint64_t base, unsigned f64, unsigned f32, bool wide) {
  uint64_t v = 0;
  // headerTable checked that the whole entry is inside the file.
  (void)r.uint(base + (r.is64() ? f64 : f32), wide ? (r.is64() ? 8 : 4) : 4, &v);
  return v;
}

// The NUL-terminated string at `index` of the string table [offset, offset+size).
Result<std::string> tableString(const Reader& r, uint64_t offset, uint64_t size, uint64_t index) {
  if (!inRange(offset, size, r.size())) {
    return fail(Errc::kInvalidArgument, "ELF string table lies outside the file");
  }
  if (index >= size) {
    return fail(Errc::kInvalidArgument,
                fmt::format("ELF soname offset {} lies outside the string table", index));
  }
  std::string_view rest = r.bytes().substr(offset + index, size - index);
  size_t end = rest.find('\0');
  if (end == std::string_view::npos) {
    return fail(Errc::kInvalidArgument, "ELF soname is not NUL-terminated");
  }
  return std::string(rest.substr(0, end));
}

struct Dynamic {
  std::optional<uint64_t> soname, strtab, strsz;
};

Result<Dynamic> readDynamic(const Reader& r, uint64_t offset, uint64_t size) {
  if (!inRange(offset, size, r.size())) {
    return fail(Errc::kInvalidArgument, "ELF dynamic section lies outside the file");
  }
  Dynamic d;
  uint64_t ent = r.is64() ? 16 : 8;
  for (uint64_t at = offset; at + ent <= offset + size; at += ent) {
    uint64_t tag = 0, val = 0;
    (void)r.word(at, &tag);
    (void)r.word(at + ent / 2, &val);
    if (tag == kDtNull) break;
    if (tag == kDtSoname) d.soname = val;
    if (tag == kDtStrtab) d.strtab = val;
    if (tag == kDtStrsz) d.strsz = val;
  }
  return d;
}

Result<std::optional<std::string>> sonameFromSegments(const Reader& r, const Table& ph) {
  std::vector<Segment> loads;
  std::optional<Segment> dynamic;
  for (uint64_t i = 0; i < ph.count; i++) {
    uint64_t base = ph.offset + i * ph.entsize;
    uint64_t type = field(r, base, 0, 0, false);
    Segment s{field(r, base, 8, 4, true), field(r, base, 16, 8, true),
              field(r, base, 32, 16, true)};
    if (type == kPtLoad) loads.push_back(s);
    if (type == kPtDynamic && !dynamic) dynamic = s;
  }
  if (!dynamic) return std::optional<std::string>();
  HULL_ASSIGN_OR_RETURN(Dynamic d, readDynamic(r, dynamic->offset, dynamic->filesz));
  if (!d.soname) return std::optional<std::string>();
  if (!d.strtab)
    return fail(Errc::kInvalidArgument, "ELF dynamic section has DT_SONAME but no DT_STRTAB");
  for (const Segment& load : loads) {
    if (*d.strtab < load.vaddr || *d.strtab - load.vaddr >= load.filesz) continue;
    uint64_t offset = load.offset + (*d.strtab - load.vaddr);
    // The table ends at DT_STRSZ, and never past the segment that maps it.
    uint64_t size = load.filesz - (*d.strtab - load.vaddr);
    if (d.strsz && *d.strsz < size) size = *d.strsz;
    HULL_ASSIGN_OR_RETURN(std::string s, tableString(r, offset, size, *d.soname));
    return std::optional<std::string>(std::move(s));
  }
  return fail(Errc::kInvalidArgument,
              fmt::format("ELF string table address {:#x} is in no loaded segment", *d.strtab));
}

Result<std::optional<std::string>> sonameFromSections(const Reader& r, const Table& sh) {
  for (uint64_t i = 0; i < sh.count; i++) {
    uint64_t base = sh.offset + i * sh.entsize;
    if (field(r, base, 4, 4, false) != kShtDynamic) continue;
    uint64_t link = field(r, base, 40, 24, false);
    if (link >= sh.count) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("ELF dynamic section links to section {} of {}", link, sh.count));
    }
    HULL_ASSIGN_OR_RETURN(
        Dynamic d, readDynamic(r, field(r, base, 24, 16, true), field(r, base, 32, 20, true)));
    if (!d.soname) return std::optional<std::string>();
    uint64_t str = sh.offset + link * sh.entsize;
    HULL_ASSIGN_OR_RETURN(std::string s, tableString(r, field(r, str, 24, 16, true),
                                                     field(r, str, 32, 20, true), *d.soname));
    return std::optional<std::string>(std::move(s));
  }
  return std::optional<std::string>();
}

}  // namespace

Result<std::optional<std::string>> elfSoname(std::string_view bytes) {
  if (bytes.size() < 6 || bytes.substr(0, 4) != std::string_view("\x7f"
                                                                 "ELF",
                                                                 4)) {
    return fail(Errc::kInvalidArgument, "not an ELF file");
  }
  auto cls = static_cast<unsigned char>(bytes[4]);
  auto data = static_cast<unsigned char>(bytes[5]);
  if (cls != 1 && cls != 2) {
    return fail(Errc::kInvalidArgument, fmt::format("ELF class {} is neither 32 nor 64 bit", cls));
  }
  if (data != 1 && data != 2) {
    return fail(Errc::kInvalidArgument,
                fmt::format("ELF byte order {} is neither little nor big endian", data));
  }
  Reader r(bytes, cls == 2, data == 1);
  if (bytes.size() < (r.is64() ? 64u : 52u)) {
    return fail(Errc::kInvalidArgument, "truncated ELF header");
  }
  HULL_ASSIGN_OR_RETURN(Table ph, headerTable(r, true));
  if (ph.count > 0) return sonameFromSegments(r, ph);
  HULL_ASSIGN_OR_RETURN(Table sh, headerTable(r, false));
  return sonameFromSections(r, sh);
}

Result<std::optional<std::string>> elfSonameOfFile(const fs::path& path) {
  constexpr size_t kMax = 64u << 20;
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno("stat " + path.string());
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::kInvalidArgument, fmt::format("{}: not a regular file", path.string()));
  }
  size_t size = std::min(kMax, static_cast<size_t>(st.st_size));
  // Mapped, not read: a driver library is tens of megabytes and the soname is in its first pages.
  void* map = size == 0 ? nullptr : ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) return failErrno("mmap " + path.string());
  ScopeExit unmap([&] {
    if (map != nullptr) ::munmap(map, size);
  });
  auto soname = elfSoname(std::string_view(static_cast<const char*>(map), size));
  if (!soname) return fail(std::move(soname).error().wrap(path.string()));
  return soname;
}

}  // namespace hull::gpu
