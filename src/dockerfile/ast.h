// The line-level Dockerfile parser: parser directives, comments, line continuations, heredocs and
// the per-instruction argument splitting BuildKit's parser does, with 1-based source lines. It
// knows instruction keywords only to pick how their arguments split; meaning comes later
// (instructions.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hull::dockerfile {

struct SourceRange {
  int start = 0;  // 1-based, first line of the instruction
  int end = 0;    // last line, heredoc bodies included
  friend bool operator==(const SourceRange&, const SourceRange&) = default;
};

struct Directive {
  std::string name;  // lower case: syntax, escape, check
  std::string value;
  int line = 0;
};

struct Heredoc {
  std::string name;     // the delimiter word, quotes removed
  std::string content;  // body lines, each ending in "\n"; leading tabs already stripped for <<-
  bool expand = true;   // false when any part of the delimiter was quoted
  bool chomp = false;   // <<-
  friend bool operator==(const Heredoc&, const Heredoc&) = default;
};

struct Warning {
  int line = 0;
  std::string message;
};

struct Node {
  std::string keyword;             // as written
  std::string original;            // the logical line, continuations folded
  std::vector<std::string> flags;  // leading --name[=value] words, quotes removed
  // Arguments as the keyword's splitter produced them. ENV and LABEL give (key, value, delimiter)
  // triples; HEALTHCHECK gives its type first.
  std::vector<std::string> args;
  bool json = false;  // exec (JSON array) form
  std::vector<Heredoc> heredocs;
  std::vector<Node> children;         // ONBUILD: the trigger
  std::vector<std::string> comments;  // comment lines right above the instruction
  SourceRange range;
};

struct Ast {
  std::vector<Directive> directives;
  char escape = '\\';
  std::vector<Node> nodes;
  std::vector<Warning> warnings;
};

// Input larger than this is refused before any parsing.
inline constexpr std::size_t kMaxDockerfileSize = 4u << 20;

// `file` names the input in errors: "Dockerfile:3: unknown instruction: RUNN".
Result<Ast> parseAst(std::string_view text, std::string_view file = "Dockerfile");

// A heredoc word (`<<EOF`, `<<-"EOF"`) or nullopt-like empty name when `word` is not one.
Result<Heredoc> parseHeredocWord(std::string_view word, bool* is_heredoc);

// Formats "file:line: message".
Error locatedError(std::string_view file, int line, std::string_view message);

}  // namespace hull::dockerfile
