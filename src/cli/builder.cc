// hull builder prune: removes the build cache (docs/commands/builder-prune.md).
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/build.h"
#include "engine/format.h"
#include "store/store.h"

namespace hull::cli {
namespace {

struct BuilderPruneFlags {
  bool force = false;
  bool dry_run = false;
};

bool confirmBuilderPrune() {
  fmt::print(
      "WARNING! This will remove all build cache: cache records, RUN cache mounts, and the "
      "layers only they keep.\nAre you sure you want to continue? [y/N] ");
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

Result<int> runBuilderPrune(const Context& ctx, const BuilderPruneFlags& f) {
  if (!f.force && !f.dry_run && !confirmBuilderPrune()) return 0;
  HULL_ASSIGN_OR_RETURN(store::Store store, store::Store::open(ctx.root));
  HULL_ASSIGN_OR_RETURN(engine::BuilderPruneReport report,
                        engine::pruneBuildCache(store, f.dry_run));
  if (report.records > 0) {
    fmt::print("{} {} build cache record{}\n", f.dry_run ? "Would delete" : "Deleted",
               report.records, report.records == 1 ? "" : "s");
  }
  // With --dry-run the total is what a prune would reclaim.
  fmt::print("Total reclaimed space: {}\n", engine::humanSize(static_cast<double>(report.bytes)));
  return 0;
}

}  // namespace

void registerBuilder(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("builder", "Manage the build cache");
  group->require_subcommand(1);
  auto f = std::make_shared<BuilderPruneFlags>();
  auto* cmd = group->add_subcommand("prune", "Remove the build cache");
  cmd->add_flag("-f,--force", f->force, "Do not ask for confirmation");
  cmd->add_flag("--dry-run", f->dry_run, "Show what would be removed, remove nothing");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runBuilderPrune(ctx, *f); }; });
}

}  // namespace hull::cli
