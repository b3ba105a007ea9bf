#include "engine/container_monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "engine/container_health.h"
#include "engine/container_run.h"

namespace hull::engine {
namespace {

int64_t monotonicNs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// After init exits, its output is drained for at most this long: a process that escaped the
// container's pid namespace must not keep `hull run` alive.
constexpr int64_t kDrainLimitNs = 2'000'000'000;

// Signals are read from a signalfd while blocked; the handler only matters in the moments they
// are unblocked (see startProbe). Exec resets handled signals to their defaults in children.
void ignoreSignal(int) {}

}  // namespace

struct Monitor::State {
  struct Probe {
    pid_t pid = 0;
    UniqueFd out;
    std::string output;
    int64_t start_ns = 0;
    std::string start_wall;
    bool timed_out = false;
  };

  const Containers* containers = nullptr;
  runtime::Runtime* runtime = nullptr;
  ContainerRecord record;
  oci::Process process;
  pid_t init_pid = 0;
  MonitorIo io;
  UniqueFd sigfd;
  sigset_t old_mask{};
  std::optional<HealthMonitor> health;
  Probe probe;
  std::optional<int> init_status;
  int64_t exited_ns = 0;

  void reap();
  void onSignal();
  void relay(UniqueFd& fd, std::string_view stream, int copy_to);
  void copyStdin();
  void startProbe();
  void finishProbe(int wait_status);
  void readProbe();
  int pollTimeoutMs() const;
  void tick();
  bool drained() const {
    return !io.out_pipe.valid() && !io.err_pipe.valid() && !io.pty_master.valid();
  }
};

Monitor::Monitor(std::unique_ptr<State> state) : state_(std::move(state)) {}
Monitor::Monitor(Monitor&&) noexcept = default;
Monitor::~Monitor() {
  if (state_) pthread_sigmask(SIG_SETMASK, &state_->old_mask, nullptr);
}

Result<Monitor> Monitor::create(const Containers& containers, runtime::Runtime& runtime,
                                const ContainerRecord& record, const oci::Process& process,
                                pid_t init_pid, MonitorIo io) {
  auto s = std::make_unique<State>();
  s->containers = &containers;
  s->runtime = &runtime;
  s->record = record;
  s->process = process;
  s->init_pid = init_pid;
  s->io = std::move(io);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (s->io.forward_signals) {
    for (int sig : kForwardedSignals) sigaddset(&mask, sig);
  }
  if (s->io.resize_pty) sigaddset(&mask, SIGWINCH);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&mask, sig) == 1) {
      struct sigaction sa {};
      sa.sa_handler = ignoreSignal;
      (void)::sigaction(sig, &sa, nullptr);
    }
  }
  if (pthread_sigmask(SIG_BLOCK, &mask, &s->old_mask) != 0) return failErrno("sigprocmask");
  Monitor monitor(std::move(s));
  monitor.state_->sigfd.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!monitor.state_->sigfd) return failErrno("signalfd");
  // A closed stdout must not kill the monitor: writes fail with EPIPE instead. A handler, not
  // SIG_IGN, which health probes and exec'd processes would inherit.
  struct sigaction pipe_action {};
  pipe_action.sa_handler = ignoreSignal;
  (void)::sigaction(SIGPIPE, &pipe_action, nullptr);
  if (record.healthcheck) monitor.state_->health.emplace(*record.healthcheck, monotonicNs());
  return monitor;
}

void Monitor::State::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == init_pid) {
      init_status = status;
      exited_ns = monotonicNs();
    } else if (pid == probe.pid) {
      finishProbe(status);
    }
  }
}

void Monitor::State::onSignal() {
  struct signalfd_siginfo info {};
  while (::read(sigfd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) continue;  // reaped below
    if (sig == SIGWINCH) {
      struct winsize ws {};
      if (io.pty_master && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
        (void)::ioctl(io.pty_master.get(), TIOCSWINSZ, &ws);
      }
      continue;
    }
    if (!init_status) (void)::kill(init_pid, sig);
  }
  reap();
}

void Monitor::State::relay(UniqueFd& fd, std::string_view stream, int copy_to) {
  char buf[65536];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {  // EOF, or EIO from a pty master whose slave side is closed
    fd.reset();
    return;
  }
  std::string_view bytes(buf, static_cast<std::size_t>(n));
  if (copy_to >= 0 && !writeAll(copy_to, bytes)) {
    // The reader went away: keep the container running and logging, as Docker does.
    if (copy_to == io.copy_out) io.copy_out = -1;
    if (copy_to == io.copy_err) io.copy_err = -1;
  }
  if (io.log) (void)io.log->write(stream, bytes);
}

void Monitor::State::copyStdin() {
  char buf[4096];
  ssize_t n = ::read(io.stdin_src, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0 || !io.pty_master || !writeAll(io.pty_master.get(), buf, n)) io.stdin_src = -1;
}

void Monitor::State::startProbe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  probe = Probe{};
  probe.start_ns = monotonicNs();
  probe.start_wall = nowRfc3339Nano();
  runtime::ExecOptions options;
  options.stdio.out = write_end.get();
  options.stdio.err = write_end.get();
  // The probe inherits our signal mask through the runtime's fork: unblock while it starts so
  // that it runs with the mask we were started with (the no-op handlers catch what arrives).
  sigset_t blocked;
  pthread_sigmask(SIG_SETMASK, &old_mask, &blocked);
  auto created =
      runtime->exec(record.id, healthProbeProcess(*record.healthcheck, process), options);
  pthread_sigmask(SIG_SETMASK, &blocked, nullptr);
  if (!created) {
    // Docker records a probe that could not start as a failure with the error as output.
    probe.output = created.error().message;
    finishProbe(-1);
    return;
  }
  (void)::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  probe.pid = created->pid;
  probe.out = std::move(read_end);
}

void Monitor::State::readProbe() {
  char buf[4096];
  ssize_t n;
  while ((n = ::read(probe.out.get(), buf, sizeof buf)) > 0) {
    if (probe.output.size() < kHealthOutputLimit) probe.output.append(buf, n);
  }
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) probe.out.reset();
}

void Monitor::State::finishProbe(int wait_status) {
  if (probe.out) readProbe();
  int64_t end_ns = monotonicNs();
  HealthResult result{.start = probe.start_wall,
                      .end = nowRfc3339Nano(),
                      .exit_code = wait_status < 0 ? -1 : exitStatusOf(wait_status),
                      .output = probe.output};
  if (probe.timed_out) {
    result.exit_code = -1;
    result.output = healthTimeoutMessage(health->timeoutNs());
  }
  health->record(std::move(result), probe.start_ns, end_ns);
  probe = Probe{};
  HealthState snapshot = health->state();
  (void)containers->update(record.id, [&](ContainerRecord& r) { r.health = snapshot; });
}

int Monitor::State::pollTimeoutMs() const {
  int64_t now = monotonicNs();
  int64_t deadline = -1;
  if (init_status) {
    deadline = exited_ns + kDrainLimitNs;
  } else if (probe.pid > 0) {
    deadline = probe.timed_out ? -1 : probe.start_ns + health->timeoutNs();
  } else if (health) {
    deadline = health->nextProbeAt();
  }
  if (deadline < 0) return -1;
  return static_cast<int>(std::clamp<int64_t>((deadline - now) / 1000000 + 1, 0, 60000));
}

void Monitor::State::tick() {
  if (init_status || !health) return;
  int64_t now = monotonicNs();
  if (probe.pid > 0) {
    if (!probe.timed_out && now >= probe.start_ns + health->timeoutNs()) {
      (void)::kill(probe.pid, SIGKILL);
      probe.timed_out = true;
    }
  } else if (now >= health->nextProbeAt()) {
    startProbe();
  }
}

Result<int> Monitor::run() {
  State& s = *state_;
  for (UniqueFd* fd : {&s.io.out_pipe, &s.io.err_pipe, &s.io.pty_master}) {
    if (*fd) (void)::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
  }
  s.reap();  // init may have exited before the signal was blocked
  while (!(s.init_status && s.drained())) {
    if (s.init_status && monotonicNs() >= s.exited_ns + kDrainLimitNs) break;
    std::vector<struct pollfd> fds;
    auto add = [&](int fd) {
      fds.push_back({.fd = fd, .events = POLLIN, .revents = 0});
      return fds.size() - 1;
    };
    std::size_t sig = add(s.sigfd.get());
    std::size_t out = s.io.out_pipe ? add(s.io.out_pipe.get()) : SIZE_MAX;
    std::size_t err = s.io.err_pipe ? add(s.io.err_pipe.get()) : SIZE_MAX;
    std::size_t pty = s.io.pty_master ? add(s.io.pty_master.get()) : SIZE_MAX;
    std::size_t in = s.io.stdin_src >= 0 && !s.init_status ? add(s.io.stdin_src) : SIZE_MAX;
    std::size_t probe = s.probe.out ? add(s.probe.out.get()) : SIZE_MAX;
    int n = ::poll(fds.data(), fds.size(), s.pollTimeoutMs());
    if (n < 0 && errno != EINTR) return failErrno("poll");
    auto ready = [&](std::size_t i) { return i != SIZE_MAX && n > 0 && fds[i].revents != 0; };
    if (ready(out)) s.relay(s.io.out_pipe, "stdout", s.io.copy_out);
    if (ready(err)) s.relay(s.io.err_pipe, "stderr", s.io.copy_err);
    if (ready(pty)) s.relay(s.io.pty_master, "stdout", s.io.copy_out);
    if (ready(in)) s.copyStdin();
    if (ready(probe)) s.readProbe();
    if (ready(sig)) s.onSignal();
    s.reap();
    s.tick();
    s.reap();  // a probe that failed to start, or exited while signals were unblocked
  }
  if (s.io.log) (void)s.io.log->flush();
  return *s.init_status;
}

}  // namespace hull::engine
