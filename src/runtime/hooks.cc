#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace hull::runtime {
namespace {

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Waits for the hook; false when it outlived its timeout (then it is killed and reaped).
bool waitHook(pid_t pid, int timeout_s, int& status) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd && timeout_s > 0) {
    pollfd p{.fd = pidfd.get(), .events = POLLIN, .revents = 0};
    int rc;
    do {
      rc = ::poll(&p, 1, timeout_s * 1000);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return false;
    }
  }
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return true;
  }
  return true;
}

}  // namespace

Result<void> runHook(const oci::Hook& hook, const std::string& state_json) {
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env = hook.env;
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env);
  // A socket rather than a pipe: a hook that exits without reading must not SIGPIPE us.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return failErrno("socketpair");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork hook " + hook.path);
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(read_end.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  read_end.reset();
  ::shutdown(read_end.get(), SHUT_WR);
  std::size_t off = 0;
  while (off < state_json.size()) {  // a hook may not read its stdin at all
    ssize_t n =
        ::send(write_end.get(), state_json.data() + off, state_json.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  write_end.reset();
  int status = 0;
  if (!waitHook(pid, hook.timeout.value_or(0), status)) {
    return fail(Errc::kIo, fmt::format("hook {} timed out after {}s", hook.path, *hook.timeout));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return fail(Errc::kIo, fmt::format("hook {} failed with status {}", hook.path, code));
}

Result<void> runHooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                      const char* kind) {
  for (const auto& hook : hooks) {
    auto r = runHook(hook, state_json);
    if (!r) return fail(r.error().wrap(std::string(kind) + " hook"));
  }
  return {};
}

}  // namespace hull::runtime
