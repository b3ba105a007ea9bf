// Pieces shared by the oci module's sources; not part of the module's contract.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace hull::oci::detail {

// Whether `list` holds `item` (capability names, architectures).
inline bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace hull::oci::detail
