#include "cli/command.h"

namespace hull::cli {

void registerImageCommands(CLI::App&, Context&) {}

}  // namespace hull::cli
