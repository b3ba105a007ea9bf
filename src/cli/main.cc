// hull: a daemonless container engine for machine-learning work.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <string>
#include <string_view>

#include "base/lsan_foreign_proc.h"
#include "cli/command.h"

namespace hull::cli {
void registerBootstrap(CLI::App& app, Context& ctx);  // bootstrap.cc
void registerGpu(CLI::App& app, Context& ctx);        // gpu.cc
}  // namespace hull::cli

namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// CLI11 reports an unknown command as a missing subcommand; say what the user typed instead.
std::string unknownCommandMessage(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--root") {
      ++i;
      continue;
    }
    if (arg.starts_with("-")) continue;
    std::string best;
    std::size_t best_distance = 3;
    for (const CLI::App* sub : app.get_subcommands({})) {
      std::size_t d = editDistance(arg, sub->get_name());
      if (d < best_distance) {
        best_distance = d;
        best = sub->get_name();
      }
    }
    std::string msg = "unknown command \"" + std::string(arg) + "\"";
    if (!best.empty()) msg += " (did you mean \"" + best + "\"?)";
    return msg;
  }
  return "no command given";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hull::cli;
  // The same binary is the OCI runtime when called as hull-runtime (podman --runtime, conmon).
  std::string_view self = argv[0] != nullptr ? argv[0] : "";
  if (auto slash = self.rfind('/'); slash != std::string_view::npos) self.remove_prefix(slash + 1);
  if (self == "hull-runtime") return runtimeMain(argc, argv);
  Context ctx;
  CLI::App app{"hull: build, store, ship and run OCI containers for machine-learning work", "hull"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.add_option("--root", ctx.root,
                 "Store root (default: $HULL_ROOT, else " + defaultRoot() + ")");
  app.add_flag("--debug", ctx.debug, "Print error codes with messages");

  registerVersion(app, ctx);
  registerDockerfile(app, ctx);
  registerImageCommands(app, ctx);
  registerSystem(app, ctx);
  registerRun(app, ctx);
  registerContainerCommands(app, ctx);
  registerContainerPrune(app, ctx);
  registerRegistryCommands(app, ctx);
  registerVolume(app, ctx);
  registerBootstrap(app, ctx);
  registerBuild(app, ctx);
  registerBuilder(app, ctx);
  registerGpu(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string msg = e.what();
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && app.get_subcommands().empty()) {
      msg = unknownCommandMessage(app, argc, argv);
    }
    std::fprintf(stderr, "hull: error: %s\n", msg.c_str());
    std::fprintf(stderr, "Run 'hull --help' or 'hull COMMAND --help' for usage.\n");
    return 2;
  }
  if (ctx.root.empty()) {
    const char* env = std::getenv("HULL_ROOT");
    ctx.root = env != nullptr && *env != '\0' ? env : defaultRoot();
  }
  if (!ctx.action) return 0;
  auto status = ctx.action();
  if (!status) {
    const auto& err = status.error();
    if (ctx.debug) {
      std::fprintf(stderr, "hull: error (%s): %s\n", std::string(hull::errcName(err.code)).c_str(),
                   err.message.c_str());
    } else {
      std::fprintf(stderr, "hull: error: %s\n", err.message.c_str());
    }
    return 1;
  }
  return *status;
}
