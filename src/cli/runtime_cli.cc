// hull-runtime: the OCI runtime command line; see runtime/runtime.h.
#include <cstdio>

#include "cli/command.h"

namespace hull::cli {

int runtimeMain(int argc, char** argv) {
  std::fprintf(stderr, "hull-runtime: not built yet\n");
  return 1;
}

}  // namespace hull::cli
