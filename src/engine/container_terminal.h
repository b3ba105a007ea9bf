// The user's terminal while a container owns it: raw mode so that every key reaches the
// container's pty (^C included), restored when the owner goes away, on every path out.
#pragma once

#include <termios.h>

#include <optional>

#include "oci/runtime_spec.h"

namespace hull::engine {

class RawTerminal {
 public:
  // Puts fd in raw mode when it is a terminal; otherwise does nothing.
  explicit RawTerminal(int fd);
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal();

 private:
  int fd_ = -1;
  std::optional<struct termios> saved_;
};

// The window size of the user's terminal (stdin, else stdout), for process.consoleSize.
std::optional<oci::ConsoleSize> terminalSize();

}  // namespace hull::engine
