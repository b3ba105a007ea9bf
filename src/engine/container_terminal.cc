#include "engine/container_terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace hull::engine {

RawTerminal::RawTerminal(int fd) {
  struct termios t {};
  if (!::isatty(fd) || ::tcgetattr(fd, &t) != 0) return;
  fd_ = fd;
  saved_ = t;
  ::cfmakeraw(&t);
  (void)::tcsetattr(fd, TCSANOW, &t);
}

RawTerminal::~RawTerminal() {
  if (saved_) (void)::tcsetattr(fd_, TCSANOW, &*saved_);
}

std::optional<oci::ConsoleSize> terminalSize() {
  struct winsize ws {};
  for (int fd : {STDIN_FILENO, STDOUT_FILENO}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
      return oci::ConsoleSize{.height = ws.ws_row, .width = ws.ws_col};
    }
  }
  return std::nullopt;
}

}  // namespace hull::engine
