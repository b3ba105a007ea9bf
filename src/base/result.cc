#include "base/result.h"

#include <cerrno>
#include <cstring>

namespace hull {

std::string_view errcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid argument";
    case Errc::kNotFound:
      return "not found";
    case Errc::kAlreadyExists:
      return "already exists";
    case Errc::kCorrupt:
      return "corrupt";
    case Errc::kIo:
      return "i/o error";
    case Errc::kPermission:
      return "permission denied";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kBusy:
      return "busy";
    case Errc::kCancelled:
      return "cancelled";
    case Errc::kInternal:
      return "internal error";
  }
  return "unknown";
}

Error Error::wrap(std::string_view context) const& {
  return Error{code, std::string(context) + ": " + message};
}

Error Error::wrap(std::string_view context) && {
  message.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

tl::unexpected<Error> failErrno(std::string_view what, int err) {
  Errc code = Errc::kIo;
  if (err == ENOENT) code = Errc::kNotFound;
  if (err == EEXIST) code = Errc::kAlreadyExists;
  if (err == EACCES || err == EPERM) code = Errc::kPermission;
  if (err == EBUSY || err == EWOULDBLOCK) code = Errc::kBusy;
  return fail(code, std::string(what) + ": " + std::strerror(err));
}

tl::unexpected<Error> failErrno(std::string_view what) { return failErrno(what, errno); }

}  // namespace hull
