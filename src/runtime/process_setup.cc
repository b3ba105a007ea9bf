#include "runtime/process_setup.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "base/fs.h"
#include "runtime/channel.h"
#include "runtime/rootfs.h"

namespace hull::runtime {
namespace {

constexpr std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

Result<int> lift(int fd, int floor) {
  if (fd < 0) return -1;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, floor);
  if (moved < 0) return failErrno("dup fd " + std::to_string(fd));
  return moved;
}

// Closes every fd from `from` up, except those in `keep`.
void closeAllExcept(int from, std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned lo = static_cast<unsigned>(from);
  for (int fd : keep) {
    if (fd < from) continue;
    if (static_cast<unsigned>(fd) > lo) ::syscall(SYS_close_range, lo, fd - 1, 0);
    lo = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, lo, ~0U, 0);
}

std::string pathFrom(const std::vector<std::string>& env) {
  for (const auto& e : env) {
    if (e.starts_with("PATH=")) return e.substr(5);
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// 0 when `path` is an executable regular file, else the errno that says why not.
int checkExecutable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EACCES;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

[[noreturn]] void dieWith(const Error& e, int report) {
  int status = e.code == Errc::kNotFound ? 127 : e.code == Errc::kPermission ? 126 : 1;
  if (report >= 0) childFail(report, e, status);
  std::string line = "hull-runtime: " + e.message + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(status);
}

}  // namespace

Result<void> arrangeFds(ProcessFds& fds, bool terminal) {
  int floor = 3 + static_cast<int>(fds.preserve.size());
  for (int* fd : {&fds.sync, &fds.fifo, &fds.console_socket, &fds.in, &fds.out, &fds.err}) {
    HULL_ASSIGN_OR_RETURN(*fd, lift(*fd, floor));
  }
  for (int& fd : fds.preserve) {
    HULL_ASSIGN_OR_RETURN(fd, lift(fd, floor));
  }
  for (std::size_t i = 0; i < fds.preserve.size(); ++i) {
    if (::dup3(fds.preserve[i], 3 + static_cast<int>(i), 0) < 0) return failErrno("dup3");
  }
  // Whatever else the caller left open (a host directory fd is the way out of CVE-2024-21626)
  // is closed now, before any path of the container is touched.
  closeAllExcept(floor, {fds.sync, fds.fifo, fds.console_socket, fds.in, fds.out, fds.err});
  fds.preserve.assign(fds.preserve.size(), -1);
  if (terminal) return {};
  int target = 0;
  for (int fd : {fds.in, fds.out, fds.err}) {
    if (fd >= 0 && ::dup3(fd, target, 0) < 0) return failErrno("dup3 stdio");
    ++target;
  }
  return {};
}

Result<void> setupTerminal(const oci::Process& process, const ProcessFds& fds, bool bind_console) {
  UniqueFd master(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return failErrno("open /dev/pts/ptmx in the container");
  if (::unlockpt(master.get()) != 0) return failErrno("unlockpt");
  char name[128];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) return failErrno("ptsname");
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return failErrno(std::string("open ") + name);
  if (::fchown(slave.get(), process.user.uid, static_cast<gid_t>(-1)) != 0) {
    return failErrno("chown the terminal");
  }
  if (process.console_size) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(process.console_size->height);
    ws.ws_col = static_cast<unsigned short>(process.console_size->width);
    ::ioctl(slave.get(), TIOCSWINSZ, &ws);
  }
  if (bind_console) HULL_TRY(bindConsole(name));
  if (::setsid() < 0 && errno != EPERM) return failErrno("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return failErrno("make the terminal controlling");
  for (int target = 0; target < 3; ++target) {
    if (::dup3(slave.get(), target, 0) < 0) return failErrno("dup3 terminal");
  }
  if (fds.console_socket >= 0) return sendMessage(fds.console_socket, name, master.get());
  return sendMessage(fds.sync, "console", master.get());
}

Result<int> rlimitResource(const std::string& name) {
  for (const auto& [n, value] : kRlimits) {
    if (name == n) return value;
  }
  return fail(Errc::kInvalidArgument, "unknown rlimit \"" + name + "\"");
}

Result<void> applyRlimits(const std::vector<oci::Rlimit>& limits) {
  for (const auto& l : limits) {
    HULL_ASSIGN_OR_RETURN(int resource, rlimitResource(l.type));
    rlimit r{.rlim_cur = l.soft, .rlim_max = l.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(resource), &r) != 0) {
      int err = errno;
      auto e = failErrno(fmt::format("error setting rlimit type {} ({} soft {} hard {})", resource,
                                     l.type, l.soft, l.hard),
                         err);
      if (err == EPERM) e.value().code = Errc::kPermission;
      return e;
    }
  }
  return {};
}

Result<void> applyOomScoreAdj(std::optional<int> adj) {
  if (!adj) return {};
  UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  std::string text = std::to_string(*adj);
  if (!fd || ::write(fd.get(), text.data(), text.size()) < 0) {
    return failErrno("set oom_score_adj to " + text);
  }
  return {};
}

Result<void> enterCwd(const std::string& cwd) {
  if (::chdir(cwd.empty() ? "/" : cwd.c_str()) != 0) {
    return failErrno("chdir to cwd (\"" + cwd + "\") set in config.json failed");
  }
  // A cwd reached through a magic link may lie outside the root: getcwd then cannot name it.
  char buf[4096];
  if (::getcwd(buf, sizeof buf) == nullptr || buf[0] != '/') {
    return fail(Errc::kPermission,
                "cwd (\"" + cwd + "\") set in config.json is outside the container");
  }
  return {};
}

Result<std::string> findExecutable(const oci::Process& process) {
  if (process.args.empty() || process.args[0].empty()) {
    return fail(Errc::kInvalidArgument, "process.args must not be empty");
  }
  const std::string& name = process.args[0];
  if (name.find('/') != std::string::npos) {
    int err = checkExecutable(name);
    if (err == 0) return name;
    auto e = failErrno("exec: \"" + name + "\": stat " + name, err);
    e.value().code = err == ENOENT ? Errc::kNotFound : Errc::kPermission;
    return e;
  }
  std::string path = pathFrom(process.env);
  bool denied = false;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto colon = path.find(':', pos);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = path.substr(pos, colon - pos);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    int err = checkExecutable(candidate);
    if (err == 0) return candidate;
    denied = denied || err == EACCES;
    pos = colon + 1;
  }
  if (denied) return fail(Errc::kPermission, "exec: \"" + name + "\": permission denied");
  return fail(Errc::kNotFound, "exec: \"" + name + "\": executable file not found in $PATH");
}

std::vector<std::string> environmentWithHome(const oci::Process& process) {
  std::vector<std::string> env = process.env;
  for (const auto& e : env) {
    if (e.starts_with("HOME=")) return env;
  }
  std::string home = "/";
  if (auto passwd = readFile("/etc/passwd", 4u << 20)) {
    std::string_view text = *passwd;
    while (!text.empty()) {
      auto nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      // name:password:uid:gid:gecos:home:shell
      std::vector<std::string_view> fields;
      std::size_t pos = 0;
      while (fields.size() < 7) {
        auto colon = line.find(':', pos);
        fields.push_back(line.substr(pos, colon - pos));
        if (colon == std::string_view::npos) break;
        pos = colon + 1;
      }
      if (fields.size() >= 6 && fields[2] == std::to_string(process.user.uid)) {
        if (!fields[5].empty()) home = std::string(fields[5]);
        break;
      }
    }
  }
  env.push_back("HOME=" + home);
  return env;
}

void execFinal(const FinalStep& step, int report) {
  auto die = [report](const Error& e) { dieWith(e, report); };
  const oci::Process& p = *step.process;
  // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it while the
  // capabilities are still there.
  if (step.seccomp != nullptr && !p.no_new_privileges) {
    if (auto r = step.seccomp->load(); !r) die(r.error());
  }
  if (auto r = applyUserAndCapabilities(p.user, step.capabilities); !r) die(r.error());
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    die(failErrno("prctl(PR_SET_NO_NEW_PRIVS)").value());
  }
  if (step.seccomp != nullptr && p.no_new_privileges) {
    if (auto r = step.seccomp->load(); !r) die(r.error());
  }
  ::umask(p.user.umask.value_or(022));
  // Nothing of the runtime's may reach the container (CVE-2024-21626): every fd above stdio and
  // the preserved ones closes at exec.
  ::syscall(SYS_close_range, step.keep_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  std::vector<char*> argv;
  for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : step.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(step.executable.c_str(), argv.data(), envp.data());
  int err = errno;
  auto e = failErrno("exec: \"" + p.args[0] + "\"", err);
  e.value().code = err == ENOENT ? Errc::kNotFound : err == EACCES ? Errc::kPermission : Errc::kIo;
  dieWith(e.value(), report);
}

}  // namespace hull::runtime
