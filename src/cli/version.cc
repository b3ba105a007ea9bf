#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "cli/command.h"
#include "oci/image.h"

namespace hull::cli {

std::string defaultRoot() {
  if (::geteuid() == 0) return "/var/lib/hull";
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/hull";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/share/hull";
}

void registerVersion(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("version", "Show the hull version");
  cmd->callback([&ctx] {
    ctx.action = []() -> Result<int> {
      oci::Platform p = oci::hostPlatform();
      fmt::print("hull version {}\nplatform {}/{}\n", HULL_VERSION, p.os, p.architecture);
      return 0;
    };
  });
}

}  // namespace hull::cli
