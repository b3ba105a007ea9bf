// hull-supervise: the process that watches one detached container (container_supervisor.cc).
// One runs for every detached container, for as long as the container runs, so it is a program
// of its own, linked from only what supervising needs: none of the CLI, the registry client or
// the image tools, nor the shared libraries those load. `hull run -d` runs it from the directory
// hull is in, with the arguments that `hull _supervise` takes, and the report pipe as fd 3:
//
//   hull-supervise --root ROOT _supervise ID
#include <cstdio>
#include <string_view>

#include "engine/container_run.h"
#include "store/store.h"

int main(int argc, char** argv) {
  using namespace hull;
  if (argc != 5 || std::string_view(argv[1]) != "--root" ||
      std::string_view(argv[3]) != "_supervise") {
    std::fprintf(stderr, "usage: hull-supervise --root ROOT _supervise ID\n");
    return 2;
  }
  engine::resetSignals();
  Result<int> status = [&]() -> Result<int> {
    HULL_ASSIGN_OR_RETURN(store::Store store, store::Store::open(argv[2]));
    return engine::superviseContainer(store, argv[4], 3);
  }();
  if (!status) {
    std::fprintf(stderr, "hull-supervise: error: %s\n", status.error().message.c_str());
    return 1;
  }
  return *status;
}
