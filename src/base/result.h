// Errors are values (STYLE.md rule 2): every fallible function returns Result<T>. A small closed
// set of codes; only the cli turns them into exit statuses and words.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace hull {

enum class Errc {
  kInvalidArgument,  // bad user input: flags, references, Dockerfiles, archives
  kNotFound,         // image, blob, file, stage that does not exist
  kAlreadyExists,    // name in use
  kCorrupt,          // digest mismatch, torn or hostile data
  kIo,               // the system said no (read, write, mount, ...)
  kPermission,       // EPERM/EACCES or a policy refusal
  kUnsupported,      // valid but not implemented or not available here
  kBusy,             // lock held, resource in use
  kCancelled,        // the user interrupted the command (Ctrl-C)
  kInternal,         // a bug in hull
};

std::string_view errcName(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;

  // Adds context on the way up: "outer: inner".
  Error wrap(std::string_view context) const&;
  Error wrap(std::string_view context) &&;
};

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(tl::expected<T, Error>&& other) : tl::expected<T, Error>(std::move(other)) {}
  Result(const tl::expected<T, Error>& other) : tl::expected<T, Error>(other) {}
};

inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

// Builds an Errc::kIo error from errno: "what: strerror(errno)".
tl::unexpected<Error> failErrno(std::string_view what, int err);
tl::unexpected<Error> failErrno(std::string_view what);  // uses errno

}  // namespace hull

#define HULL_CONCAT_INNER(a, b) a##b
#define HULL_CONCAT(a, b) HULL_CONCAT_INNER(a, b)

// Returns the error of `expr` from the enclosing function, otherwise continues.
#define HULL_TRY(expr)                                                               \
  do {                                                                               \
    auto&& hull_try_result_ = (expr);                                                \
    if (!hull_try_result_) return ::hull::fail(std::move(hull_try_result_).error()); \
  } while (0)

// Declares `lhs` from the value of `expr`, or returns its error.
#define HULL_ASSIGN_OR_RETURN(lhs, expr) \
  HULL_ASSIGN_OR_RETURN_IMPL(HULL_CONCAT(hull_result_, __LINE__), lhs, expr)
#define HULL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)       \
  auto tmp = (expr);                                     \
  if (!tmp) return ::hull::fail(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
