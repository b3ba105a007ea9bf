// hull: a daemonless container engine for machine-learning work.
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"

int main(int argc, char** argv) {
  using namespace hull::cli;
  Context ctx;
  CLI::App app{"hull: build, store, ship and run OCI containers for machine-learning work",
               "hull"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.add_option("--root", ctx.root, "Store root (default: $HULL_ROOT, else " + defaultRoot() + ")");
  app.add_flag("--debug", ctx.debug, "Print error codes with messages");

  registerVersion(app, ctx);
  registerDockerfile(app, ctx);
  registerImageCommands(app, ctx);
  registerSystem(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "hull: error: %s\n", e.what());
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
