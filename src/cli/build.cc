// hull build: flags → engine::BuildRequest, the context and Dockerfile read, progress on
// stderr, the image ID on stdout (docs/commands/build.md). Ctrl-C sets the cancel flag the build
// watches; the build stops, keeps nothing of the step it was in, and hull exits 130.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/build_context.h"
#include "cli/build_flags.h"
#include "cli/build_progress.h"
#include "cli/command.h"
#include "engine/build.h"
#include "store/store.h"

namespace hull::cli {
namespace {

struct BuildFlags {
  std::string context;
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::string target;
  bool no_cache = false;
  bool pull = false;
  std::vector<std::string> secrets;
  std::string network = "default";
  std::string progress = "auto";
  bool quiet = false;
  std::vector<std::string> outputs;
  std::string compression = "gzip";
  std::string source_date_epoch;
  CLI::Option* source_date_epoch_opt = nullptr;
  std::vector<std::string> labels;
  bool tls_verify = true;
};

// Set by the SIGINT/SIGTERM handler, which does nothing else (async-signal-safe).
std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};

void onSignal(int sig) {
  g_signal.store(sig);
  g_cancel.store(true);
}

// The handlers for the length of a build; the previous ones come back after.
class CancelOnSignals {
 public:
  CancelOnSignals() {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~CancelOnSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  CancelOnSignals(const CancelOnSignals&) = delete;
  CancelOnSignals& operator=(const CancelOnSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

Result<std::string> readSecret(const SecretSpec& s) {
  if (!s.env.empty()) {
    const char* v = std::getenv(s.env.c_str());
    if (v == nullptr) {
      return fail(Errc::kInvalidArgument, fmt::format("--secret id={}: environment variable {} "
                                                      "is not set",
                                                      s.id, s.env));
    }
    return std::string(v);
  }
  auto content = readFile(s.src, kMaxSecretSize);
  if (!content) return fail(content.error().wrap("--secret id=" + s.id));
  return content;
}

// Everything the flags say, checked before anything is read or built.
Result<engine::BuildRequest> requestFromFlags(const BuildFlags& f) {
  engine::BuildRequest r;
  build::BuildOptions& o = r.options;
  HULL_ASSIGN_OR_RETURN(o.build_args, parseBuildArgs(f.build_args, processEnv()));
  HULL_ASSIGN_OR_RETURN(o.labels, parseLabels(f.labels));
  HULL_ASSIGN_OR_RETURN(o.compression, parseCompression(f.compression));
  std::optional<std::string> epoch_flag;
  if (f.source_date_epoch_opt->count() > 0) epoch_flag = f.source_date_epoch;
  HULL_ASSIGN_OR_RETURN(o.source_date_epoch, sourceDateEpoch(epoch_flag, processEnv()));
  for (const auto& spec : f.secrets) {
    HULL_ASSIGN_OR_RETURN(SecretSpec s, parseSecretSpec(spec));
    HULL_ASSIGN_OR_RETURN(o.secrets[s.id], readSecret(s));
  }
  for (const auto& spec : f.outputs) {
    HULL_ASSIGN_OR_RETURN(engine::BuildOutput out, engine::parseBuildOutput(spec));
    r.outputs.push_back(std::move(out));
  }
  o.target = f.target;
  o.no_cache = f.no_cache;
  o.network = f.network;
  r.tags = f.tags;
  r.pull = f.pull;
  r.tls_verify = f.tls_verify;
  return r;
}

std::string baseName(const std::string& path) {
  auto name = fs::path(path).filename().string();
  return name.empty() ? "Dockerfile" : name;
}

// CONTEXT and -f: the context directory and the Dockerfile's text. `holder` keeps a context
// unpacked from stdin alive for the build.
Result<void> readInputs(const BuildFlags& f, const store::Store& store, StdinContext& holder,
                        build::BuildOptions& o) {
  if (f.context == "-") {
    if (f.file == "-") {
      return fail(Errc::kInvalidArgument, "-f - and CONTEXT - cannot both read stdin");
    }
    HULL_ASSIGN_OR_RETURN(holder, readStdinContext(store));
    if (holder.dockerfile) {
      if (!f.file.empty()) {
        return fail(Errc::kInvalidArgument,
                    "-f names a file in the context, but stdin held a Dockerfile, not a context "
                    "archive");
      }
      o.dockerfile = std::move(*holder.dockerfile);
      return {};
    }
    o.context = holder.context.path();
    std::string name = f.file.empty() ? "Dockerfile" : f.file;
    // In a context archive, -f names a file inside it.
    HULL_ASSIGN_OR_RETURN(o.dockerfile, readDockerfile((o.context / name).string()));
    o.dockerfile_name = baseName(name);
    return {};
  }
  std::error_code ec;
  if (!fs::is_directory(f.context, ec)) {
    return fail(Errc::kNotFound,
                fmt::format("unable to prepare context: \"{}\" is not a directory", f.context));
  }
  o.context = f.context;
  std::string path = f.file.empty() ? (fs::path(f.context) / "Dockerfile").string() : f.file;
  HULL_ASSIGN_OR_RETURN(o.dockerfile, readDockerfile(path));
  o.dockerfile_name = f.file == "-" ? "Dockerfile" : baseName(path);
  return {};
}

BuildProgress::Mode progressMode(const BuildFlags& f) {
  if (f.quiet || f.progress == "quiet") return BuildProgress::Mode::kQuiet;
  if (f.progress == "plain") return BuildProgress::Mode::kPlain;
  // tty and auto both need a terminal to draw on; without one they print plain lines.
  bool tty = ::isatty(STDERR_FILENO) != 0 && ::isatty(STDOUT_FILENO) != 0;
  return tty ? BuildProgress::Mode::kTty : BuildProgress::Mode::kPlain;
}

void printWarnings(const std::vector<std::string>& reported, const std::vector<std::string>& seen) {
  const auto& list = reported.empty() ? seen : reported;
  for (const auto& w : list) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
}

// BuildKit's last vertex: the image written and named.
void printExport(BuildProgress& progress, const engine::BuildOutcome& outcome) {
  int n = progress.reserveNumber();
  progress.line(fmt::format("#{} exporting to image", n));
  progress.line(fmt::format("#{} writing image {} done", n, outcome.result.config_digest.str()));
  for (const auto& tag : outcome.tags) progress.line(fmt::format("#{} naming to {} done", n, tag));
  progress.line(fmt::format("#{} DONE 0.0s", n));
}

Result<int> runBuild(const Context& ctx, const BuildFlags& f) {
  HULL_ASSIGN_OR_RETURN(engine::BuildRequest request, requestFromFlags(f));
  HULL_ASSIGN_OR_RETURN(store::Store store, store::Store::open(ctx.root));
  StdinContext stdin_context;
  HULL_TRY(readInputs(f, store, stdin_context, request.options));

  BuildProgress progress(stderr, progressMode(f));
  g_cancel.store(false);
  g_signal.store(0);
  Result<engine::BuildOutcome> outcome = [&] {
    CancelOnSignals handlers;
    return engine::buildImage(store, request, &progress, &g_cancel);
  }();
  progress.finish();
  // -q and --progress quiet: nothing on stderr but an error.
  bool quiet = progressMode(f) == BuildProgress::Mode::kQuiet;
  if (!outcome) {
    if (!quiet) printWarnings({}, progress.warnings());
    if (outcome.error().code == Errc::kCancelled || g_cancel.load()) {
      std::fprintf(stderr, "hull: error: build cancelled\n");
      return g_signal.load() == SIGTERM ? 128 + SIGTERM : 128 + SIGINT;
    }
    return fail(outcome.error());
  }
  if (!quiet) {
    printExport(progress, *outcome);
    printWarnings(outcome->result.warnings, progress.warnings());
  }
  bool stdout_taken = false;
  for (const auto& out : request.outputs) stdout_taken |= out.dest == "-";
  if (!stdout_taken) fmt::print("{}\n", outcome->result.config_digest.str());
  return 0;
}

void addBuildFlags(CLI::App* cmd, BuildFlags& f) {
  cmd->add_option("-t,--tag", f.tags, "Name the image NAME[:TAG] (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("-f,--file", f.file, "Dockerfile (default CONTEXT/Dockerfile; - reads stdin)");
  cmd->add_option("--build-arg", f.build_args,
                  "Build argument NAME=VALUE; NAME alone takes the environment's (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--target", f.target, "Stage to build (default: the last)");
  cmd->add_flag("--no-cache", f.no_cache, "Build every step, ignoring the build cache");
  cmd->add_flag("--pull", f.pull, "Pull every base image, even those in the store");
  cmd->add_option("--secret", f.secrets,
                  "Secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR")
      ->allow_extra_args(false);
  cmd->add_option("--network", f.network, "Network of RUN steps: default, host or none")
      ->check(CLI::IsMember({"default", "host", "none"}));
  cmd->add_option("--progress", f.progress, "Progress output: auto, plain, tty or quiet")
      ->check(CLI::IsMember({"auto", "plain", "tty", "quiet"}));
  cmd->add_flag("-q,--quiet", f.quiet, "Print only the image ID");
  cmd->add_option("-o,--output", f.outputs,
                  "Where the result goes: type=image|oci|docker|local,dest=PATH (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--compression", f.compression, "Layer compression: gzip or zstd")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  f.source_date_epoch_opt =
      cmd->add_option("--source-date-epoch", f.source_date_epoch,
                      "Clamp every timestamp to this (default: $SOURCE_DATE_EPOCH)");
  cmd->add_option("--label", f.labels, "Label of the image K=V (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--tls-verify", f.tls_verify,
                "Check registries' TLS certificates when pulling (default true)");
}

}  // namespace

void registerBuild(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<BuildFlags>();
  auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("CONTEXT", f->context, "Build context directory, or - for stdin")->required();
  addBuildFlags(cmd, *f);
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runBuild(ctx, *f); }; });
}

}  // namespace hull::cli
