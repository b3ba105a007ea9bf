// A shared library that hull opens itself, on first use, instead of linking it: what
// curl_loader.cc and archive_loader.cc share. The loader binds each function it forwards; when the
// library is missing or lacks one of them, error() says which, and nothing of it is used.
#pragma once

#include <dlfcn.h>

#include <string>
#include <string_view>

#include "base/result.h"

namespace hull {

class LazyLibrary {
 public:
  // dlopen()s `soname` (RTLD_NOW, RTLD_LOCAL); `what` names it in errors ("libcurl") and
  // `package` is the Debian package that installs it.
  LazyLibrary(const char* soname, const char* what, const char* package);

  // Points `fn` at the library's `name`; false (and the first such name in error()) when it
  // lacks it.
  template <typename F>
  bool bind(F& fn, const char* name) {
    fn = handle_ != nullptr ? reinterpret_cast<F>(::dlsym(handle_, name)) : nullptr;
    if (fn == nullptr && error_.empty()) error_ = soname_ + " lacks " + name;
    return fn != nullptr;
  }
  // After the binds: a library that lacked a function is closed and never used.
  void finish(bool all_bound);

  bool loaded() const { return handle_ != nullptr; }
  // Empty when loaded, else why it is not.
  const std::string& error() const { return error_; }
  // The error for a call of the library that failed (a constructor that returned NULL): why the
  // library is not loaded, else "`call` failed".
  Error callFailed(std::string_view call) const;

 private:
  std::string soname_;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace hull
