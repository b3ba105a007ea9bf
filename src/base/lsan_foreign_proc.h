// Included by exactly one file of each program that may run as an OCI hook (hull, hull-gpu-hook).
//
// Sanitized builds only: at exit LeakSanitizer reads /proc/<getpid()>/task. A createContainer hook
// runs in the container's PID namespace while /proc is still the host's, where that pid names
// another process or none, and LeakSanitizer then fails the hook with "Can't open /proc/N/task".
// Leaks are checked only where /proc is this process's own.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#include <unistd.h>

#include <cstdlib>

extern "C" __attribute__((visibility("default"), used)) int __lsan_is_turned_off() {
  char self[32];
  ssize_t n = ::readlink("/proc/self", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  return std::atoi(self) != ::getpid();
}
#endif
