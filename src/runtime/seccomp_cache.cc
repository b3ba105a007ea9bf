#include "runtime/seccomp_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <seccomp.h>

#include "base/digest.h"
#include "base/fs.h"
#include "base/scope_exit.h"

namespace hull::runtime {
namespace {

// Entry layout: magic, instruction count (u32), zero (u32), sha256 hex of the instructions, then
// the instructions as the kernel takes them. A new layout gets a new magic (and so a new key).
constexpr char kMagic[8] = {'H', 'U', 'L', 'L', 'B', 'P', 'F', '1'};
constexpr std::size_t kHeaderSize = sizeof(kMagic) + 8 + 64;
constexpr std::size_t kMaxInstructions = BPF_MAXINSNS;

// Length-prefixed fields, so that no two different profiles hash the same bytes.
class KeyWriter {
 public:
  void str(std::string_view s) {
    num(s.size());
    hash_.update(s);
  }
  void num(uint64_t n) { hash_.update(&n, sizeof n); }
  void opt(const std::optional<uint32_t>& n) {
    num(n.has_value());
    num(n.value_or(0));
  }
  std::string finish() { return hash_.finish().hex(); }

 private:
  Sha256 hash_;
};

std::string programChecksum(const BpfProgram& program) {
  Sha256 h;
  h.update(program.data(), program.size() * sizeof(sock_filter));
  return h.finish().hex();
}

// Owned by us and not writable by group or others: nobody else can have put anything here.
bool trustedStat(const struct stat& st) {
  return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

bool isEntryName(const char* name) {
  std::string_view n(name);
  return n.size() == 64 + 4 && n.ends_with(".bpf");
}

// Keeps the directory bounded when many different profiles are used: start over.
void pruneIfFull(int dirfd) {
  UniqueFd dup(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return;
  DIR* d = ::fdopendir(dup.get());
  if (d == nullptr) return;
  dup.release();
  ScopeExit close_dir([&] { ::closedir(d); });
  std::vector<std::string> entries;
  while (dirent* e = ::readdir(d)) {
    if (isEntryName(e->d_name)) entries.emplace_back(e->d_name);
  }
  if (entries.size() < SeccompCache::kMaxEntries) return;
  for (const auto& name : entries) ::unlinkat(dirfd, name.c_str(), 0);
}

std::optional<BpfProgram> parseEntry(std::string_view data) {
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    return std::nullopt;
  }
  uint32_t count = 0;
  uint32_t zero = 0;
  std::memcpy(&count, data.data() + 8, 4);
  std::memcpy(&zero, data.data() + 12, 4);
  if (zero != 0 || count == 0 || count > kMaxInstructions ||
      data.size() != kHeaderSize + std::size_t{count} * sizeof(sock_filter)) {
    return std::nullopt;
  }
  BpfProgram program(count);
  std::memcpy(program.data(), data.data() + kHeaderSize, count * sizeof(sock_filter));
  if (programChecksum(program) != data.substr(16, 64)) return std::nullopt;
  return program;
}

}  // namespace

std::string seccompCacheKey(const oci::Seccomp& spec) {
  KeyWriter k;
  k.str(std::string_view(kMagic, sizeof kMagic));
  // How SeccompFilter::build lays the program out (SCMP_FLTATR_CTL_OPTIMIZE 2).
  k.str("binary-tree");
  const scmp_version* v = seccomp_version();
  k.num(v->major);
  k.num(v->minor);
  k.num(v->micro);
  struct utsname u {};
  ::uname(&u);
  for (const char* field : {u.sysname, u.release, u.version, u.machine}) k.str(field);
  k.num(seccomp_arch_native());
  k.str(spec.default_action);
  k.opt(spec.default_errno_ret);
  k.num(spec.architectures.size());
  for (const auto& a : spec.architectures) k.str(a);
  k.num(spec.flags.size());
  for (const auto& f : spec.flags) k.str(f);
  k.num(spec.syscalls.size());
  for (const auto& call : spec.syscalls) {
    k.num(call.names.size());
    for (const auto& n : call.names) k.str(n);
    k.str(call.action);
    k.opt(call.errno_ret);
    k.num(call.args.size());
    for (const auto& a : call.args) {
      k.num(a.index);
      k.num(a.value);
      k.num(a.value_two);
      k.str(a.op);
    }
  }
  return k.finish();
}

std::filesystem::path SeccompCache::forRuntimeRoot(const std::filesystem::path& state_root) {
  std::filesystem::path root = state_root.lexically_normal();
  if (!root.has_filename()) root = root.parent_path();  // "/run/hull-runtime/"
  return root.string() + ".seccomp-cache";
}

std::filesystem::path SeccompCache::entryPath(const std::string& key) const {
  return dir_ / (key + ".bpf");
}

Result<UniqueFd> SeccompCache::openTrustedDir(bool create) const {
  if (create && ::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return failErrno("mkdir " + dir_.string());
  }
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return failErrno("open " + dir_.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno("stat " + dir_.string());
  if (!trustedStat(st)) {
    return fail(Errc::kPermission,
                dir_.string() + ": not owned by this user or writable by others");
  }
  return fd;
}

std::optional<BpfProgram> SeccompCache::lookup(const std::string& key) const {
  auto dir = openTrustedDir(false);
  if (!dir) return std::nullopt;
  std::string name = key + ".bpf";
  UniqueFd fd(::openat(dir->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !trustedStat(st) ||
      (st.st_mode & 07777) != 0600) {
    return std::nullopt;
  }
  std::size_t max = kHeaderSize + kMaxInstructions * sizeof(sock_filter);
  if (st.st_size <= 0 || static_cast<std::size_t>(st.st_size) > max) return std::nullopt;
  std::string data(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    auto n = readSome(fd.get(), data.data() + got, data.size() - got);
    if (!n) return std::nullopt;
    if (*n == 0) break;
    got += *n;
  }
  data.resize(got);  // a file that grew after fstat fails the size check below
  return parseEntry(data);
}

Result<void> SeccompCache::store(const std::string& key, const BpfProgram& program) const {
  if (program.empty() || program.size() > kMaxInstructions) {
    return fail(Errc::kInvalidArgument,
                "seccomp cache: program of " + std::to_string(program.size()) + " instructions");
  }
  HULL_ASSIGN_OR_RETURN(UniqueFd dir, openTrustedDir(true));
  pruneIfFull(dir.get());
  std::string data(kMagic, sizeof kMagic);
  uint32_t header[2] = {static_cast<uint32_t>(program.size()), 0};
  data.append(reinterpret_cast<const char*>(header), sizeof header);
  data += programChecksum(program);
  data.append(reinterpret_cast<const char*>(program.data()), program.size() * sizeof(sock_filter));

  std::string name = key + ".bpf";
  std::string tmp = name + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::openat(dir.get(), tmp.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return failErrno("create " + (dir_ / tmp).string());
  ScopeExit cleanup([&] { ::unlinkat(dir.get(), tmp.c_str(), 0); });
  // The umask cannot widen 0600, but an existing file of an earlier run could have another mode.
  if (::fchmod(fd.get(), 0600) != 0) return failErrno("chmod " + (dir_ / tmp).string());
  HULL_TRY(writeAll(fd.get(), data));
  fd.reset();
  if (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0) {
    return failErrno("rename " + (dir_ / tmp).string());
  }
  cleanup.dismiss();
  return {};
}

}  // namespace hull::runtime
