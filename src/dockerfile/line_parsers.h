// Splits one logical line into keyword, flags and arguments, per keyword as BuildKit's parser
// does. Internal to the dockerfile module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dockerfile/ast.h"

namespace hull::dockerfile {

// Errors carry no location; the caller adds it.
Result<Node> nodeFromLine(std::string_view line, char escape);

// Words split on blanks, quotes and escapes kept in the words (ENV/LABEL/ARG splitting).
std::vector<std::string> parseWords(std::string_view rest, char escape);

// Leading --flag words, quotes removed; returns the rest of the line.
std::string_view extractBuilderFlags(std::string_view line, std::vector<std::string>* flags);

}  // namespace hull::dockerfile
