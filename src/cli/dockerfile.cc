// hull dockerfile parse: reads a Dockerfile, applies build args and --target, prints the stages
// as text or JSON (docs/dockerfile-parse.md).
#include <fmt/format.h>

#include <memory>

#include "base/fs.h"
#include "cli/build_flags.h"
#include "cli/command.h"
#include "dockerfile/dockerfile.h"

namespace hull::cli {
namespace {

struct ParseArgs {
  std::string file;
  std::vector<std::string> build_args;
  std::string target;
  std::string format = "text";
  std::string context = ".";
};

Result<dockerfile::ParseOptions> parseOptions(const ParseArgs& a) {
  dockerfile::ParseOptions opt;
  opt.target = a.target;
  // Like docker, "--build-arg NAME" alone takes the value from the environment, if set.
  HULL_ASSIGN_OR_RETURN(opt.build_args, parseBuildArgs(a.build_args, processEnv()));
  return opt;
}

Result<int> runParse(const ParseArgs& a) {
  HULL_ASSIGN_OR_RETURN(dockerfile::ParseOptions opt, parseOptions(a));
  std::string path = a.file.empty() ? (fs::path(a.context) / "Dockerfile").string() : a.file;
  bool from_stdin = path == "-";
  opt.file = from_stdin ? "Dockerfile" : path;
  auto text = readFile(from_stdin ? "/dev/stdin" : path, dockerfile::kMaxDockerfileSize);
  if (!text) return fail(text.error().wrap("reading Dockerfile"));
  HULL_ASSIGN_OR_RETURN(dockerfile::Dockerfile df, dockerfile::parse(*text, opt));
  if (a.format == "json") {
    fmt::print("{}\n", dockerfile::toJson(df).dump(2, ' ', false, Json::error_handler_t::replace));
  } else {
    fmt::print("{}", dockerfile::toText(df));
  }
  return 0;
}

}  // namespace

void registerDockerfile(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("dockerfile", "Inspect Dockerfiles");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand("parse", "Parse a Dockerfile and print its build stages");
  auto args = std::make_shared<ParseArgs>();
  cmd->add_option("-f,--file", args->file,
                  "Dockerfile to read, - for stdin (default CONTEXT/Dockerfile)");
  cmd->add_option("--build-arg", args->build_args, "Build argument NAME=VALUE (repeatable)");
  cmd->add_option("--target", args->target, "Stage to build; lists only the stages it needs");
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("CONTEXT", args->context, "Build context directory (default .)");
  cmd->callback([&ctx, args] { ctx.action = [args]() { return runParse(*args); }; });
}

}  // namespace hull::cli
