// The command-line layer: argument parsing and output only (STYLE.md). Each command lives in its
// own file and registers itself on the CLI11 app; its callback stores the action that main runs
// after parsing, so errors from the action all pass through one place that prints and exits.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/result.h"

namespace hull::cli {

struct Context {
  std::string root;  // --root, else $HULL_ROOT, else the default store root
  bool debug = false;
  // Set by the chosen subcommand's callback; returns the process exit status on success.
  std::function<Result<int>()> action;
};

// The store root when neither --root nor HULL_ROOT is given.
std::string defaultRoot();

// One per command file. Keep this list in the order `hull --help` shows.
void registerVersion(CLI::App& app, Context& ctx);
void registerDockerfile(CLI::App& app, Context& ctx);
void registerImageCommands(CLI::App& app, Context& ctx);
void registerSystem(CLI::App& app, Context& ctx);
void registerRun(CLI::App& app, Context& ctx);                // run (and _supervise)
void registerContainerCommands(CLI::App& app, Context& ctx);  // ps, logs, stop, kill, rm, ...
void registerContainerPrune(CLI::App& app, Context& ctx);     // container prune (after the above)
void registerRegistryCommands(CLI::App& app, Context& ctx);   // pull, push, login, logout
void registerVolume(CLI::App& app, Context& ctx);             // volume create|ls|inspect|rm|prune
void registerBuild(CLI::App& app, Context& ctx);              // build
void registerBuilder(CLI::App& app, Context& ctx);            // builder prune

// The OCI runtime command line (runc's verbs and flags), when the binary runs as hull-runtime.
int runtimeMain(int argc, char** argv);

}  // namespace hull::cli
