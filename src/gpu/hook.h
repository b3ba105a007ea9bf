// `hull gpu hook update-ldcache`: an OCI createContainer (or prestart) hook. Reads the container
// state from stdin, finds the rootfs from the bundle's config.json, enters the container's mount
// namespace when it is not already in it, makes each library's soname link in the given
// folders, writes /etc/ld.so.conf.d/000-hull-gpu.conf listing them, and runs ldconfig chrooted
// into the rootfs (the image's own ldconfig, else the host's static one). Writes inside the
// rootfs go through the rootfs's directory fd (never a joined path).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hull::gpu {

struct LdcacheHookOptions {
  std::vector<std::string> folders;  // container paths, in ld cache priority order
  std::string ldconfig;              // host ldconfig to use when the image has none; empty: search
};

Result<void> runLdcacheHook(const LdcacheHookOptions& options, std::string_view state_json);

}  // namespace hull::gpu
