#include "gpu/version.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace hull::gpu {
namespace {

constexpr size_t kMaxParts = 4;
constexpr uint32_t kPartLimit = uint32_t{1} << 31;

// One dot-separated part: decimal digits only (leading zeros allowed: drivers write "05").
bool parsePart(std::string_view digits, uint32_t& out) {
  if (digits.empty()) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value >= kPartLimit) {
    return false;
  }
  out = static_cast<uint32_t>(value);
  return true;
}

}  // namespace

std::string Version::str() const {
  if (!text.empty()) return text;
  return fmt::format("{}", fmt::join(parts, "."));
}

// Missing trailing parts count as zero, so "12" == "12.0" == "12.0.0".
std::strong_ordering operator<=>(const Version& a, const Version& b) {
  size_t n = std::max(a.parts.size(), b.parts.size());
  for (size_t i = 0; i < n; ++i) {
    uint32_t x = i < a.parts.size() ? a.parts[i] : 0;
    uint32_t y = i < b.parts.size() ? b.parts[i] : 0;
    if (x != y) return x <=> y;
  }
  return std::strong_ordering::equal;
}

Result<Version> parseVersion(std::string_view text) {
  Version version;
  version.text = std::string(text);
  std::string_view rest = text;
  while (true) {
    size_t dot = rest.find('.');
    uint32_t part = 0;
    if (version.parts.size() == kMaxParts || !parsePart(rest.substr(0, dot), part)) {
      return fail(Errc::kInvalidArgument, "bad version " + quoteForMessage(text));
    }
    version.parts.push_back(part);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return version;
}

Version cudaFromInt(int encoded) {
  if (encoded < 0) encoded = 0;
  Version version;
  version.parts = {static_cast<uint32_t>(encoded / 1000),
                   static_cast<uint32_t>(encoded % 1000 / 10)};
  return version;
}

std::string clipForMessage(std::string_view text, size_t limit) {
  std::string out;
  size_t shown = std::min(text.size(), limit);
  for (char c : text.substr(0, shown)) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  if (shown < text.size()) out += "...";
  return out;
}

std::string quoteForMessage(std::string_view text, size_t limit) {
  return "\"" + clipForMessage(text, limit) + "\"";
}

}  // namespace hull::gpu
