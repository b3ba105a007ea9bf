// JSON glue: nlohmann::json throws, our code does not. Parsing untrusted text goes through here.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace hull {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Parses untrusted JSON; `what` names the input in the error ("manifest.json").
Result<Json> parseJson(std::string_view text, std::string_view what);

// Decodes a value with nlohmann's from_json, turning its exceptions into kInvalidArgument.
template <class T>
Result<T> decodeJson(const Json& j, std::string_view what) {
  try {
    return j.get<T>();
  } catch (const std::exception& e) {
    return fail(Errc::kInvalidArgument, std::string(what) + ": " + e.what());
  }
}

// Compact, key-sorted serialization: the canonical bytes we hash and store.
std::string canonicalJson(const Json& j);

}  // namespace hull
