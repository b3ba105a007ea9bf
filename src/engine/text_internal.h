// Text helpers shared by the engine's sources (user.cc, snapshot_gc.cc); not part of the engine's
// contract.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace hull::engine::detail {

// Splits s at every sep, keeping empty fields: "a::b" gives {"a", "", "b"}, "" gives {""}. The
// views point into s.
inline std::vector<std::string_view> splitFields(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

}  // namespace hull::engine::detail
