// hull pull, push, login, logout: the registry commands. Output follows Docker's, line for line
// where a script may read it (the Digest/Status lines of pull, the digest line of push).
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/image_commands.h"
#include "cli/progress.h"
#include "engine/login.h"
#include "engine/pull.h"
#include "engine/push.h"
#include "registry/reference.h"

namespace hull::cli {
namespace {

std::string shortId(const Digest& d) { return d.shortId(); }

struct PullFlags {
  std::string ref;
  std::string platform;
  bool quiet = false;
  bool tls_verify = true;
};

engine::TransferObserver pullObserver(ProgressBoard& board) {
  return [&board](const engine::TransferEvent& e) {
    using Phase = engine::TransferEvent::Phase;
    std::string id = shortId(e.digest);
    switch (e.phase) {
      case Phase::kWaiting:
        board.add(id, "Waiting");
        break;
      case Phase::kProgress:
        board.progress(id, "Downloading", e.done, e.total);
        break;
      case Phase::kAlreadyExists:
        board.finish(id, "Already exists");
        break;
      case Phase::kMounted:
      case Phase::kComplete:
        board.finish(id, "Pull complete");
        break;
    }
  };
}

Result<int> runPull(const Context& ctx, const PullFlags& f) {
  HULL_ASSIGN_OR_RETURN(registry::Reference ref, registry::parseReference(f.ref));
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  ProgressBoard board(stdout, ::isatty(STDOUT_FILENO) != 0);
  engine::PullOptions options;
  options.platform = f.platform;
  options.tls_verify = f.tls_verify;
  if (!f.quiet) {
    options.observer = pullObserver(board);
    // Docker says so when REF names neither a tag nor a digest.
    std::string_view last = f.ref;
    last.remove_prefix(last.rfind('/') == std::string_view::npos ? 0 : last.rfind('/'));
    bool tag_given = last.find_first_of(":@") != std::string_view::npos;
    if (!tag_given) board.line("Using default tag: latest");
    board.line(fmt::format("{}: Pulling from {}", ref.identifier(), ref.repository));
  }
  HULL_ASSIGN_OR_RETURN(engine::ImageRef image, engine::pullImage(store, f.ref, options));
  if (f.quiet) {
    fmt::print("{}\n", ref.str());
    return 0;
  }
  board.line("Digest: " + image.digest.str());
  board.line(fmt::format("Status: {} for {}",
                         image.updated ? "Downloaded newer image" : "Image is up to date",
                         ref.familiar()));
  board.line(ref.str());
  return 0;
}

struct PushFlags {
  std::string image;
  std::string dest;
  bool quiet = false;
  bool tls_verify = true;
};

engine::TransferObserver pushObserver(ProgressBoard& board) {
  return [&board](const engine::TransferEvent& e) {
    using Phase = engine::TransferEvent::Phase;
    std::string id = shortId(e.digest);
    switch (e.phase) {
      case Phase::kWaiting:
        board.add(id, "Preparing");
        break;
      case Phase::kProgress:
        board.progress(id, "Pushing", e.done, e.total);
        break;
      case Phase::kAlreadyExists:
        board.finish(id, "Layer already exists");
        break;
      case Phase::kMounted:
        board.finish(id, "Mounted from " + e.from);
        break;
      case Phase::kComplete:
        board.finish(id, "Pushed");
        break;
    }
  };
}

Result<int> runPush(const Context& ctx, const PushFlags& f) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  ProgressBoard board(stdout, ::isatty(STDOUT_FILENO) != 0);
  engine::PushOptions options;
  options.tls_verify = f.tls_verify;
  std::function<void(const std::string&)> on_start;
  if (!f.quiet) {
    options.observer = pushObserver(board);
    on_start = [&board](const std::string& repo) {
      board.line(fmt::format("The push refers to repository [{}]", repo));
    };
  }
  HULL_ASSIGN_OR_RETURN(engine::PushResult r,
                        engine::pushImage(store, f.image, f.dest, options, on_start));
  if (f.quiet) {
    fmt::print("{}{}\n", r.repository, r.tag.empty() ? "@" + r.digest.str() : ":" + r.tag);
    return 0;
  }
  board.line(fmt::format("{}: digest: {} size: {}", r.tag.empty() ? r.digest.str() : r.tag,
                         r.digest.str(), r.size));
  return 0;
}

struct LoginFlags {
  std::string registry;
  std::string username;
  std::string password;
  bool password_stdin = false;
  bool tls_verify = true;
};

// Reads a line from the terminal without echoing it (a password prompt).
Result<std::string> promptSecret(const std::string& prompt) {
  std::fprintf(stderr, "%s", prompt.c_str());
  termios old{};
  bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  return line;
}

Result<int> runLogin(const LoginFlags& f) {
  engine::LoginOptions options;
  options.username = f.username;
  options.password = f.password;
  options.tls_verify = f.tls_verify;
  if (f.password_stdin) {
    if (!f.password.empty()) {
      return fail(Errc::kInvalidArgument, "--password and --password-stdin are exclusive");
    }
    if (f.username.empty()) {
      return fail(Errc::kInvalidArgument, "--password-stdin needs the user name (-u)");
    }
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
    options.password = all;
  } else if (!f.password.empty()) {
    std::fprintf(stderr,
                 "WARNING! Using --password via the CLI is insecure. Use "
                 "--password-stdin.\n");
  }
  bool tty = ::isatty(STDIN_FILENO) != 0;
  if (options.username.empty() && tty) {
    std::fprintf(stderr, "Username: ");
    std::getline(std::cin, options.username);
  }
  if (options.password.empty() && tty && !options.username.empty()) {
    HULL_ASSIGN_OR_RETURN(options.password, promptSecret("Password: "));
  }
  if (options.username.empty() || options.password.empty()) {
    return fail(Errc::kInvalidArgument,
                "login: give -u USER and -p PASS or --password-stdin (stdin is not a terminal)");
  }
  HULL_ASSIGN_OR_RETURN(std::string saved, engine::login(f.registry, options));
  (void)saved;
  fmt::print("Login Succeeded\n");
  return 0;
}

Result<int> runLogout(const std::string& registry_text) {
  HULL_ASSIGN_OR_RETURN(std::string domain, engine::registryDomain(registry_text));
  auto r = engine::logout(registry_text);
  if (!r && r.error().code == Errc::kNotFound) {
    fmt::print("Not logged in to {}\n", domain);
    return 0;
  }
  HULL_TRY(r);
  fmt::print("Removing login credentials for {}\n", domain);
  return 0;
}

void addTlsVerify(CLI::App* cmd, bool& value) {
  cmd->add_flag("--tls-verify", value,
                "Check the registry's TLS certificate (default true); --tls-verify=false also "
                "allows plain http");
}

}  // namespace

void registerRegistryCommands(CLI::App& app, Context& ctx) {
  auto pull = std::make_shared<PullFlags>();
  auto* cmd = app.add_subcommand("pull", "Download an image from a registry");
  cmd->add_option("REF", pull->ref, "NAME[:TAG|@DIGEST]")->required();
  cmd->add_option("--platform", pull->platform,
                  "OS/ARCH[/VARIANT] to pick from a multi-platform image (default: this "
                  "machine's)");
  cmd->add_flag("-q,--quiet", pull->quiet, "Print only the image reference");
  addTlsVerify(cmd, pull->tls_verify);
  cmd->callback([&ctx, pull] { ctx.action = [&ctx, pull] { return runPull(ctx, *pull); }; });

  auto push = std::make_shared<PushFlags>();
  cmd = app.add_subcommand("push", "Upload an image to a registry");
  cmd->add_option("IMAGE", push->image, "Image name, ID or digest in the store")->required();
  cmd->add_option("DEST", push->dest, "Destination REGISTRY/REPO[:TAG] (default: IMAGE's name)");
  cmd->add_flag("-q,--quiet", push->quiet, "Print only the pushed reference");
  addTlsVerify(cmd, push->tls_verify);
  cmd->callback([&ctx, push] { ctx.action = [&ctx, push] { return runPush(ctx, *push); }; });

  auto login = std::make_shared<LoginFlags>();
  cmd = app.add_subcommand("login", "Log in to a registry (credentials in Docker's config.json)");
  cmd->add_option("REGISTRY", login->registry, "HOST[:PORT] (default: Docker Hub)");
  cmd->add_option("-u,--username", login->username, "User name");
  cmd->add_option("-p,--password", login->password, "Password or token");
  cmd->add_flag("--password-stdin", login->password_stdin, "Read the password from stdin");
  addTlsVerify(cmd, login->tls_verify);
  cmd->callback([&ctx, login] { ctx.action = [login] { return runLogin(*login); }; });

  auto logout = std::make_shared<std::string>();
  cmd = app.add_subcommand("logout", "Remove the saved credentials of a registry");
  cmd->add_option("REGISTRY", *logout, "HOST[:PORT] (default: Docker Hub)");
  cmd->callback([&ctx, logout] { ctx.action = [logout] { return runLogout(*logout); }; });
}

}  // namespace hull::cli
