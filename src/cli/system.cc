#include "cli/command.h"

namespace hull::cli {

void registerSystem(CLI::App&, Context&) {}

}  // namespace hull::cli
