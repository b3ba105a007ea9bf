// Small string helpers shared by the Dockerfile front end. Whitespace here is ASCII whitespace.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hull::dockerfile {

bool isBlank(char c);
std::string_view trimLeft(std::string_view s);
std::string_view trim(std::string_view s);
std::string asciiLower(std::string_view s);
std::string asciiUpper(std::string_view s);
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// Splits on runs of blanks; no empty words.
std::vector<std::string> splitBlanks(std::string_view s);

// Levenshtein distance (insertions, deletions, substitutions; case-sensitive).
std::size_t editDistance(std::string_view a, std::string_view b);

// The closest option within an edit distance of 2 (case-insensitive), or "" when none is.
std::string suggest(std::string_view value, const std::vector<std::string>& options);

}  // namespace hull::dockerfile
