// hull-gpu-hook: the ld cache hook of GPU containers (gpu/hook.h), as a program of its own. The
// OCI runtime starts it once for every GPU container start, so it links only the gpu module:
// none of the CLI or the libraries the rest of hull loads. `hull gpu hook update-ldcache` is the
// same hook inside hull, for hosts where this program is missing.
//
//   hull-gpu-hook update-ldcache [--folder DIR]... [--ldconfig PATH]   (state JSON on stdin)
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "base/fs.h"
#include "base/lsan_foreign_proc.h"
#include "gpu/hook.h"

namespace {

hull::Result<hull::gpu::LdcacheHookOptions> parseArgs(int argc, char** argv) {
  using hull::Errc;
  if (argc < 2 || std::string_view(argv[1]) != "update-ldcache") {
    return hull::fail(Errc::kInvalidArgument,
                      "usage: hull-gpu-hook update-ldcache [--folder DIR]... [--ldconfig PATH]");
  }
  hull::gpu::LdcacheHookOptions options;
  for (int i = 2; i < argc; i += 2) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc)
      return hull::fail(Errc::kInvalidArgument, std::string(flag) + " needs a value");
    if (flag == "--folder") {
      options.folders.emplace_back(argv[i + 1]);
    } else if (flag == "--ldconfig") {
      options.ldconfig = argv[i + 1];
    } else {
      return hull::fail(Errc::kInvalidArgument, "unknown flag " + std::string(flag));
    }
  }
  return options;
}

hull::Result<std::string> readState() {
  std::string state;
  char buf[4096];
  while (state.size() < (1u << 20)) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, hull::readSome(STDIN_FILENO, buf, sizeof buf));
    if (n == 0) return state;
    state.append(buf, n);
  }
  return hull::fail(hull::Errc::kInvalidArgument, "the container state on stdin is over 1 MiB");
}

}  // namespace

int main(int argc, char** argv) {
  hull::Result<void> r = [&]() -> hull::Result<void> {
    HULL_ASSIGN_OR_RETURN(hull::gpu::LdcacheHookOptions options, parseArgs(argc, argv));
    HULL_ASSIGN_OR_RETURN(std::string state, readState());
    return hull::gpu::runLdcacheHook(options, state);
  }();
  if (!r) {
    std::fprintf(stderr, "hull-gpu-hook: error: %s\n", r.error().message.c_str());
    return 1;
  }
  return 0;
}
