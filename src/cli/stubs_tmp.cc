#include "cli/command.h"
namespace hull::cli {
void registerDockerfile(CLI::App&, Context&) {}
void registerImageCommands(CLI::App&, Context&) {}
void registerSystem(CLI::App&, Context&) {}
}  // namespace hull::cli
