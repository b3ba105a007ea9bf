// hull container prune: remove every exited container (docker container prune).
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/image_commands.h"
#include "engine/format.h"
#include "engine/prune_containers.h"

namespace hull::cli {
namespace {

struct ContainerPruneFlags {
  bool force = false;
};

bool confirmContainerPrune() {
  fmt::print(
      "WARNING! This will remove all stopped containers.\n"
      "Are you sure you want to continue? [y/N] ");
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

Result<int> runContainerPrune(const Context& ctx, const ContainerPruneFlags& f) {
  if (!f.force && !confirmContainerPrune()) return 0;
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(engine::ContainerPruneReport report, engine::pruneContainers(store, false));
  if (!report.removed.empty()) {
    fmt::print("Deleted Containers:\n");
    for (const auto& id : report.removed) fmt::print("{}\n", id);
    fmt::print("\n");
  }
  fmt::print("Total reclaimed space: {}\n",
             engine::humanSize(static_cast<double>(report.bytes_freed)));
  return 0;
}

}  // namespace

void registerContainerPrune(CLI::App& app, Context& ctx) {
  CLI::App* group = app.get_subcommand("container");
  auto f = std::make_shared<ContainerPruneFlags>();
  auto* cmd = group->add_subcommand("prune", "Remove all stopped containers");
  cmd->add_flag("-f,--force", f->force, "Do not ask for confirmation");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runContainerPrune(ctx, *f); }; });
}

}  // namespace hull::cli
