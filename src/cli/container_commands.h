// The container commands (containers.cc, run.cc), registered by registerRun and
// registerContainerCommands (command.h).
#pragma once

#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "cli/command.h"

namespace hull::cli {

// A container's `inspect` object for a name or id prefix; kNotFound when there is no container.
Result<OrderedJson> inspectContainerJson(const Context& ctx, const std::string& ref);

}  // namespace hull::cli
