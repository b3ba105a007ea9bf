#include "cli/command.h"

namespace hull::cli {

void registerDockerfile(CLI::App&, Context&) {}

}  // namespace hull::cli
