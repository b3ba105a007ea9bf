#include "base/lazy_library.h"

namespace hull {

LazyLibrary::LazyLibrary(const char* soname, const char* what, const char* package)
    : soname_(soname) {
  handle_ = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    error_ = std::string("cannot load ") + what + ": " +
             (why != nullptr ? why : soname_ + " not found") + " (install " + package +
             ": scripts/setup.sh does)";
  }
}

Error LazyLibrary::callFailed(std::string_view call) const {
  return error_.empty() ? Error{Errc::kInternal, std::string(call) + " failed"}
                        : Error{Errc::kUnsupported, error_};
}

void LazyLibrary::finish(bool all_bound) {
  if (all_bound || handle_ == nullptr) return;
  ::dlclose(handle_);
  handle_ = nullptr;
}

}  // namespace hull
