// hull-runtime: the OCI runtime command line (runc's verbs, flags and exit codes), so that
// podman/conmon and other engines can drive hull as their runtime; see runtime/runtime.h.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "base/fs.h"
#include "cli/command.h"
#include "runtime/runtime.h"
#include "runtime/signals.h"

namespace hull::cli {
namespace {

using runtime::Runtime;

struct Globals {
  std::string root = "/run/hull-runtime";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
};

std::string nowText() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}

// Errors go to stderr and, when --log is given, to the log file in runc's shape: conmon and
// podman read the last "error" line from there.
void reportError(const Globals& g, const Error& e) {
  std::string msg = g.debug ? fmt::format("{} ({})", e.message, errcName(e.code)) : e.message;
  std::fprintf(stderr, "hull-runtime: %s\n", msg.c_str());
  if (g.log.empty()) return;
  std::string line;
  if (g.log_format == "json") {
    line = Json{{"level", "error"}, {"msg", msg}, {"time", nowText()}}.dump() + "\n";
  } else {
    line = fmt::format("time=\"{}\" level=error msg={}\n", nowText(), Json(msg).dump());
  }
  UniqueFd fd(::open(g.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (fd) (void)writeAll(fd.get(), line);
}

Result<UniqueFd> connectConsoleSocket(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return failErrno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return fail(Errc::kInvalidArgument, "console socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return failErrno("connect to console socket " + path);
  }
  return fd;
}

std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  return std::filesystem::absolute(path, ec).string();
}

// ---- foreground processes (run, exec without --detach) ----

pid_t g_forward_to = 0;
void forwardSignal(int sig) {
  if (g_forward_to > 0) ::kill(g_forward_to, sig);
}

void forwardSignals(pid_t pid) {
  g_forward_to = pid;
  struct sigaction sa {};
  sa.sa_handler = forwardSignal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
    ::sigaction(sig, &sa, nullptr);
  }
}

int waitStatus(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// Copies between our stdio and the container's pty until the container side closes.
void proxyTerminal(int master) {
  termios saved{};
  bool raw = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    termios t = saved;
    cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
  }
  char buf[8192];
  bool in_open = true;
  for (;;) {
    pollfd fds[2] = {{.fd = master, .events = POLLIN, .revents = 0},
                     {.fd = in_open ? 0 : -1, .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      if (!writeAll(1, buf, static_cast<std::size_t>(n))) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) {
        in_open = false;
      } else if (!writeAll(master, buf, static_cast<std::size_t>(n))) {
        break;
      }
    }
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
}

// ---- verbs ----

struct CreateArgs {
  std::string id, bundle = ".", console_socket, pid_file;
  bool no_pivot = false, no_new_keyring = false, detach = false, keep = false;
  int preserve_fds = 0;
};

Result<runtime::CreateOptions> createOptions(const CreateArgs& a, UniqueFd& socket) {
  runtime::CreateOptions o;
  o.stdio.in = 0;
  o.stdio.out = 1;
  o.stdio.err = 2;
  if (!a.console_socket.empty()) {
    HULL_ASSIGN_OR_RETURN(socket, connectConsoleSocket(a.console_socket));
    o.stdio.console_socket = socket.get();
  }
  for (int i = 0; i < a.preserve_fds; ++i) o.stdio.preserve.push_back(3 + i);
  o.pid_file = absolute(a.pid_file);
  o.no_pivot = a.no_pivot;
  o.no_new_keyring = a.no_new_keyring;
  return o;
}

Result<oci::RuntimeSpec> readBundle(const CreateArgs& a, bool detached) {
  HULL_ASSIGN_OR_RETURN(std::string text,
                        readFile(std::filesystem::path(a.bundle) / "config.json", 16u << 20));
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, oci::parseRuntimeSpec(text));
  if (detached && spec.process && spec.process->terminal && a.console_socket.empty()) {
    return fail(Errc::kInvalidArgument,
                "cannot allocate a pseudo-terminal without --console-socket");
  }
  return spec;
}

Result<int> doCreate(Runtime& rt, const CreateArgs& a) {
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, readBundle(a, true));
  UniqueFd socket;
  HULL_ASSIGN_OR_RETURN(auto options, createOptions(a, socket));
  HULL_ASSIGN_OR_RETURN(auto created, rt.create(a.id, a.bundle, spec, options));
  return 0;
}

Result<int> doRun(Runtime& rt, const CreateArgs& a) {
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, readBundle(a, a.detach));
  UniqueFd socket;
  HULL_ASSIGN_OR_RETURN(auto options, createOptions(a, socket));
  auto created = rt.create(a.id, a.bundle, spec, options);
  if (!created) {
    if (auto status = runtime::execFailureStatus(created.error())) {
      std::fprintf(stderr, "hull-runtime: %s\n", created.error().message.c_str());
      return *status;
    }
    return fail(created.error());
  }
  if (a.detach) {
    HULL_TRY(rt.start(a.id));
    return 0;
  }
  forwardSignals(created->pid);
  HULL_TRY(rt.start(a.id));
  if (created->console_master) proxyTerminal(created->console_master.get());
  int status = waitStatus(created->pid);
  if (!a.keep) (void)rt.remove(a.id, true);
  return status;
}

struct ExecArgs {
  std::string process_file, console_socket, pid_file, cwd, user;
  bool tty = false, detach = false, no_new_privs = false;
  std::vector<std::string> env, caps;
  int preserve_fds = 0;
};

Result<oci::Process> execProcess(Runtime& rt, const std::string& id, const ExecArgs& a,
                                 const std::vector<std::string>& args) {
  if (!a.process_file.empty()) {
    HULL_ASSIGN_OR_RETURN(std::string text, readFile(a.process_file, 16u << 20));
    return oci::parseProcess(text);
  }
  if (args.empty()) return fail(Errc::kInvalidArgument, "exec: no command given");
  HULL_ASSIGN_OR_RETURN(oci::RuntimeSpec spec, rt.spec(id));
  oci::Process p = spec.process.value_or(oci::Process{});
  p.args = args;
  p.terminal = a.tty;
  p.console_size.reset();
  for (const auto& e : a.env) p.env.push_back(e);
  if (!a.cwd.empty()) p.cwd = a.cwd;
  if (!a.user.empty()) {
    auto colon = a.user.find(':');
    try {
      p.user.uid = static_cast<uint32_t>(std::stoul(a.user.substr(0, colon)));
      p.user.gid = colon == std::string::npos
                       ? 0
                       : static_cast<uint32_t>(std::stoul(a.user.substr(colon + 1)));
    } catch (const std::exception&) {
      return fail(Errc::kInvalidArgument, "--user must be UID[:GID], got \"" + a.user + "\"");
    }
  }
  if (!a.caps.empty()) {
    if (!p.capabilities) p.capabilities = oci::Capabilities{};
    for (auto* set :
         {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
          &p.capabilities->inheritable, &p.capabilities->ambient}) {
      for (const auto& c : a.caps) set->push_back(c);
    }
  }
  if (a.no_new_privs) p.no_new_privileges = true;
  return p;
}

Result<int> doExec(Runtime& rt, const ExecArgs& a, std::vector<std::string> rest) {
  if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
  if (rest.empty()) return fail(Errc::kInvalidArgument, "exec: container id required");
  std::string id = rest.front();
  rest.erase(rest.begin());
  if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
  HULL_ASSIGN_OR_RETURN(oci::Process p, execProcess(rt, id, a, rest));
  runtime::ExecOptions o;
  o.stdio.in = 0;
  o.stdio.out = 1;
  o.stdio.err = 2;
  UniqueFd socket;
  if (!a.console_socket.empty()) {
    HULL_ASSIGN_OR_RETURN(socket, connectConsoleSocket(a.console_socket));
    o.stdio.console_socket = socket.get();
  }
  for (int i = 0; i < a.preserve_fds; ++i) o.stdio.preserve.push_back(3 + i);
  o.pid_file = absolute(a.pid_file);
  o.detach = a.detach;
  if (p.terminal && a.detach && a.console_socket.empty()) {
    return fail(Errc::kInvalidArgument,
                "cannot allocate a pseudo-terminal without --console-socket");
  }
  auto created = rt.exec(id, p, o);
  if (!created) {
    if (auto status = runtime::execFailureStatus(created.error()); status && !a.detach) {
      std::fprintf(stderr, "hull-runtime: %s\n", created.error().message.c_str());
      return *status;
    }
    return fail(created.error());
  }
  if (a.detach) return 0;
  forwardSignals(created->pid);
  if (created->console_master) proxyTerminal(created->console_master.get());
  return waitStatus(created->pid);
}

Result<int> doList(Runtime& rt, const std::string& format, bool quiet) {
  HULL_ASSIGN_OR_RETURN(auto states, rt.list());
  if (format == "json") {
    Json out = Json::array();
    for (const auto& s : states) out.push_back(runtime::toJson(s));
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (format != "table") {
    return fail(Errc::kInvalidArgument, "invalid --format \"" + format + "\": table or json");
  }
  if (quiet) {
    for (const auto& s : states) std::printf("%s\n", s.id.c_str());
    return 0;
  }
  std::printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
              "OWNER");
  for (const auto& s : states) {
    std::printf("%-12s %-8d %-10s %-40s %-30s %s\n", s.id.c_str(), s.pid,
                std::string(runtime::statusName(s.status)).c_str(), s.bundle.c_str(),
                s.created.c_str(), s.owner.empty() ? "root" : s.owner.c_str());
  }
  return 0;
}

Result<int> doSpec(const std::string& bundle, bool rootless) {
  std::filesystem::path path = std::filesystem::path(bundle) / "config.json";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return fail(Errc::kAlreadyExists, "File " + path.string() + " exists. Remove it first");
  }
  HULL_TRY(writeFileAtomic(path, oci::serialize(runtime::defaultSpec(rootless)), 0644));
  return 0;
}

Result<int> doPs(Runtime& rt, const std::string& id, const std::string& format) {
  HULL_ASSIGN_OR_RETURN(auto pids, rt.pids(id));
  if (format == "json") {
    std::printf("%s\n", Json(pids).dump().c_str());
    return 0;
  }
  std::printf("PID\n");
  for (pid_t pid : pids) std::printf("%d\n", pid);
  return 0;
}

void addCreateFlags(CLI::App* cmd, CreateArgs& a) {
  cmd->add_option("-b,--bundle", a.bundle, "Path to the bundle directory")->capture_default_str();
  cmd->add_option("--console-socket", a.console_socket,
                  "AF_UNIX socket that receives the pty master (SCM_RIGHTS)");
  cmd->add_option("--pid-file", a.pid_file, "File to write the container's init pid to");
  cmd->add_flag("--no-pivot", a.no_pivot, "Use MS_MOVE and chroot instead of pivot_root");
  cmd->add_flag("--no-new-keyring", a.no_new_keyring, "Keep the caller's session keyring");
  cmd->add_option("--preserve-fds", a.preserve_fds, "Pass N extra fds (3, 4, ...) to the process");
  cmd->add_option("id", a.id, "Container id")->required();
}

// Everything the parsed command line holds; the chosen verb's callback sets `action`.
struct Verbs {
  Globals g;
  std::function<Result<int>(Runtime&)> action;
  CreateArgs create, run;
  ExecArgs exec;
  std::string id, signal = "SIGTERM", bundle = ".", format = "table";
  bool all = false, force = false, rootless = false, quiet = false, global_rootless = false;
};

void addGlobals(CLI::App& app, Verbs& v) {
  app.require_subcommand(1);
  app.add_option("--root", v.g.root, "State directory")->capture_default_str();
  app.add_option("--log", v.g.log, "Also write errors to this file");
  app.add_option("--log-format", v.g.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", v.g.debug, "Print error codes with messages");
  app.add_flag("--systemd-cgroup", v.g.systemd_cgroup, "Not supported: hull uses cgroupfs");
  app.add_flag("--rootless", v.global_rootless, "Ignored: hull-runtime runs as root");
}

void addCreateAndRun(CLI::App& app, Verbs& v) {
  auto* create = app.add_subcommand("create", "Create a container (its process waits for start)");
  addCreateFlags(create, v.create);
  create->callback([&v] { v.action = [&v](Runtime& rt) { return doCreate(rt, v.create); }; });

  auto* run = app.add_subcommand("run", "Create and start a container, wait unless detached");
  addCreateFlags(run, v.run);
  run->add_flag("-d,--detach", v.run.detach, "Return once the container started");
  run->add_flag("--keep", v.run.keep, "Keep the container's state after it exits");
  run->callback([&v] { v.action = [&v](Runtime& rt) { return doRun(rt, v.run); }; });
}

void addLifecycle(CLI::App& app, Verbs& v) {
  auto* start = app.add_subcommand("start", "Start a created container");
  start->add_option("id", v.id)->required();
  start->callback([&v] {
    v.action = [&v](Runtime& rt) -> Result<int> {
      HULL_TRY(rt.start(v.id));
      return 0;
    };
  });
  auto* state = app.add_subcommand("state", "Print a container's OCI state as JSON");
  state->add_option("id", v.id)->required();
  state->callback([&v] {
    v.action = [&v](Runtime& rt) -> Result<int> {
      HULL_ASSIGN_OR_RETURN(auto s, rt.state(v.id));
      std::printf("%s\n", runtime::toJson(s).dump(2).c_str());
      return 0;
    };
  });
  auto* kill = app.add_subcommand("kill", "Send a signal to the container's init");
  kill->add_flag("-a,--all", v.all, "Signal every process in the container");
  kill->add_option("id", v.id)->required();
  kill->add_option("signal", v.signal, "Name or number (default SIGTERM)");
  kill->callback([&v] {
    v.action = [&v](Runtime& rt) -> Result<int> {
      HULL_ASSIGN_OR_RETURN(int sig, runtime::parseSignal(v.signal));
      HULL_TRY(rt.kill(v.id, sig, v.all));
      return 0;
    };
  });
  auto* del = app.add_subcommand("delete", "Delete a container and everything it holds");
  del->add_flag("-f,--force", v.force, "Kill a running container first");
  del->add_option("id", v.id)->required();
  del->callback([&v] {
    v.action = [&v](Runtime& rt) -> Result<int> {
      HULL_TRY(rt.remove(v.id, v.force));
      return 0;
    };
  });
}

void addExec(CLI::App& app, Verbs& v) {
  ExecArgs& a = v.exec;
  auto* exec = app.add_subcommand("exec", "Run one more process in a container");
  // ID and the command's own arguments ("sh -c ...") are taken as they are.
  exec->prefix_command();
  exec->add_option("-p,--process", a.process_file, "process.json to run");
  exec->add_flag("-t,--tty", a.tty, "Allocate a pseudo-terminal");
  exec->add_option("--console-socket", a.console_socket, "Socket for the pty master");
  exec->add_option("--pid-file", a.pid_file, "File to write the process's pid to");
  exec->add_flag("-d,--detach", a.detach, "Do not wait for the process");
  exec->add_option("--cwd", a.cwd, "Working directory in the container");
  exec->add_option("-e,--env", a.env, "KEY=VALUE");
  exec->add_option("-u,--user", a.user, "UID[:GID]");
  exec->add_option("-c,--cap", a.caps, "Add a capability");
  exec->add_flag("--no-new-privs", a.no_new_privs, "Set no_new_privs");
  exec->add_option("--preserve-fds", a.preserve_fds, "Pass N extra fds");
  exec->callback([&v, exec] {
    v.action = [&v, exec](Runtime& rt) { return doExec(rt, v.exec, exec->remaining()); };
  });
}

void addInformation(CLI::App& app, Verbs& v) {
  auto* spec = app.add_subcommand("spec", "Write a default config.json");
  spec->add_option("-b,--bundle", v.bundle, "Where to write config.json");
  spec->add_flag("--rootless", v.rootless, "A spec for a user namespace");
  spec->callback([&v] { v.action = [&v](Runtime&) { return doSpec(v.bundle, v.rootless); }; });
  auto* feats = app.add_subcommand("features", "Print what this runtime supports (JSON)");
  feats->callback([&v] {
    v.action = [](Runtime&) -> Result<int> {
      std::printf("%s\n", runtime::features().dump(2).c_str());
      return 0;
    };
  });
  auto* list = app.add_subcommand("list", "List containers");
  list->add_option("-f,--format", v.format, "table or json");
  list->add_flag("-q,--quiet", v.quiet, "Only ids");
  list->callback([&v] { v.action = [&v](Runtime& rt) { return doList(rt, v.format, v.quiet); }; });
  auto* ps = app.add_subcommand("ps", "List a container's processes (host pids)");
  ps->add_option("-f,--format", v.format, "table or json");
  ps->add_option("id", v.id)->required();
  ps->callback([&v] { v.action = [&v](Runtime& rt) { return doPs(rt, v.id, v.format); }; });
}

}  // namespace

int runtimeMain(int argc, char** argv) {
  Verbs v;
  const Globals& g = v.g;
  CLI::App app{"hull-runtime: an OCI runtime (runc's command line)", "hull-runtime"};
  addGlobals(app, v);
  addCreateAndRun(app, v);
  addLifecycle(app, v);
  addExec(app, v);
  addInformation(app, v);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (g.systemd_cgroup) {
    reportError(g, Error{Errc::kUnsupported,
                         "--systemd-cgroup is not supported: hull-runtime manages cgroups "
                         "through cgroupfs (configure the engine with cgroup_manager=cgroupfs)"});
    return 1;
  }
  if (!v.action) return 0;
  auto rt = Runtime::open(g.root);
  if (!rt) {
    reportError(g, rt.error());
    return 1;
  }
  auto status = v.action(*rt);
  if (!status) {
    reportError(g, status.error());
    return 1;
  }
  return *status;
}

}  // namespace hull::cli
