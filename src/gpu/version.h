// Dotted numeric versions as NVIDIA writes them: drivers ("550.54.14"), CUDA ("12.4"),
// compute capabilities ("8.0"). Missing trailing parts compare as zero ("12" == "12.0").
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hull::gpu {

struct Version {
  std::vector<uint32_t> parts;  // at least one, at most four
  // The text parseVersion read, kept so that str() gives a driver back as NVIDIA writes it
  // ("535.104.05", not "535.104.5"); empty for versions built from numbers. Comparisons ignore it.
  std::string text = {};

  std::string str() const;  // `text` when set, else the parts joined by '.'
  uint32_t major() const { return parts.empty() ? 0 : parts[0]; }
  uint32_t minor() const { return parts.size() < 2 ? 0 : parts[1]; }
  friend std::strong_ordering operator<=>(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) {
    return (a <=> b) == std::strong_ordering::equal;
  }
};

// "550.54.14", "12.4", "8": one to four dot-separated decimal numbers, each under 2^31.
// Anything else (empty parts, signs, spaces, letters) is kInvalidArgument naming the text.
Result<Version> parseVersion(std::string_view text);

// Untrusted text (image environments) made fit for a one-line message: control bytes, quotes
// and backslashes escaped, anything past `limit` bytes cut to "...". quoteForMessage also puts
// it in double quotes.
std::string clipForMessage(std::string_view text, size_t limit = 160);
std::string quoteForMessage(std::string_view text, size_t limit = 80);

// CUDA as the driver API encodes it (cuDriverGetVersion: 12040 -> "12.4").
Version cudaFromInt(int encoded);

}  // namespace hull::gpu
