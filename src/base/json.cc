#include "base/json.h"

namespace hull {

Result<Json> parseJson(std::string_view text, std::string_view what) {
  // Depth is bounded by nlohmann's recursive parser; cap the input so hostile nesting cannot
  // exhaust the stack.
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      max_depth = std::max(max_depth, ++depth);
    else if (c == '}' || c == ']')
      --depth;
  }
  if (max_depth > 256) {
    return fail(Errc::kInvalidArgument, std::string(what) + ": JSON nested deeper than 256 levels");
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(Errc::kInvalidArgument, std::string(what) + ": not valid JSON");
  }
  return j;
}

std::string canonicalJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace hull
