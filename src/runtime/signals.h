// Signal names as runc's `kill` accepts them: "KILL", "SIGKILL", "kill", "9", "SIGRTMIN+3".
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace hull::runtime {

Result<int> parseSignal(std::string_view text);
// "SIGTERM" for 15; "SIGRTMIN+2" for real-time signals; the number otherwise.
std::string signalName(int signal);

}  // namespace hull::runtime
