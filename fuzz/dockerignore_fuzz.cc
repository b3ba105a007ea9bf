// Input: the text of a .dockerignore, a NUL byte, then context paths one per line. Parsing and
// matching must never crash, and a directory the walker may skip must not hide anything that
// an exception re-includes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dockerfile/dockerignore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t split = input.find('\0');
  std::string_view text = input.substr(0, split);
  std::string_view paths = split == std::string_view::npos ? "" : input.substr(split + 1);

  auto matcher = hull::dockerfile::IgnoreMatcher::parse(text);
  if (!matcher) {
    if (matcher.error().message.empty()) std::abort();  // every error explains itself
    return 0;
  }
  std::string_view first_line = text.substr(0, text.find('\n'));
  while (!paths.empty()) {
    std::size_t nl = paths.find('\n');
    std::string_view path = paths.substr(0, nl);
    paths.remove_prefix(nl == std::string_view::npos ? paths.size() : nl + 1);

    (void)hull::dockerfile::globMatch(first_line, path);
    std::string clean = hull::dockerfile::cleanPath(path);
    if (clean.empty() || hull::dockerfile::cleanPath(clean) != clean) std::abort();
    if (!matcher->matches(path)) continue;
    // An excluded directory that may be skipped keeps everything below it excluded.
    if (clean != "." && clean[0] != '/' && matcher->canSkipExcludedDir(clean) &&
        !matcher->matches(clean + "/z")) {
      std::abort();
    }
  }
  return 0;
}
