// Word expansion with the semantics of BuildKit's shell lexer: $v ${v} ${v:-w} ${v-w} ${v:+w}
// ${v+w} ${v:?w} ${v?w} ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}, quote removal, and the
// Dockerfile's escape character. It is not a shell: no command substitution, no arithmetic.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace hull::dockerfile {

// Variables visible to an expansion. Lookups are case-sensitive, as on Linux.
using Env = std::map<std::string, std::string, std::less<>>;

struct LexOptions {
  char escape = '\\';
  bool raw_quotes = false;   // keep quote characters in the result
  bool raw_escapes = false;  // keep escape characters in the result
  bool skip_quotes = false;  // quotes are ordinary characters (heredoc bodies)
  bool skip_unset = false;   // leave references to unset variables as written
  // Expansions that would grow one word past this are refused ($A$A$A... doubling attacks).
  std::size_t max_output = 16u << 20;
};

// Nesting of ${...} deeper than this is refused: hostile input must not exhaust the stack.
inline constexpr int kMaxExpansionDepth = 64;

class Lexer {
 public:
  explicit Lexer(LexOptions options = {}) : options_(options) {}

  // Expands `word` into one string: quotes removed, whitespace kept (ENV values, paths).
  Result<std::string> processWord(std::string_view word, const Env& env) const;
  // Expands and splits on unquoted whitespace (word lists).
  Result<std::vector<std::string>> processWords(std::string_view word, const Env& env) const;

 private:
  LexOptions options_;
};

// A shell pattern as ${v#p} and friends use it: `*`, `?`, literal characters, and the escapes
// \* \? \\ (and \} as a plain `}`).
class ShellPattern {
 public:
  static Result<ShellPattern> compile(std::string_view pattern);
  // Lengths of the prefixes of `value` the whole pattern matches, shortest or longest first;
  // npos when none does.
  std::size_t matchPrefix(std::string_view value, bool longest) const;
  std::size_t matchSuffix(std::string_view value, bool longest) const;
  // Leftmost, then longest, match anywhere in value: {start, length}, start == npos if none.
  std::pair<std::size_t, std::size_t> find(std::string_view value, std::size_t from) const;

 private:
  struct Token {
    enum Kind { kLiteral, kAny, kStar } kind;
    char ch;
  };
  static std::size_t run(const std::vector<Token>& tokens, std::string_view value, bool longest,
                         bool reverse);
  std::vector<Token> tokens_;
  std::vector<Token> reversed_;
};

}  // namespace hull::dockerfile
