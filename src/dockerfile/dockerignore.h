// .dockerignore: which paths of a build context are left out, with Docker's exact semantics
// (docker/cli's ignore-file reader, moby/patternmatcher, and the way BuildKit's context walker
// applies them). docs/dockerignore.md describes the rules with examples.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace re2 {
class RE2;
}

namespace hull::dockerfile {

struct IgnorePattern {
  std::string pattern;     // cleaned, slash-separated, without the leading '!'
  bool exception = false;  // a '!' line: re-includes what it matches
  int line = 0;            // 1-based line in the .dockerignore; 0 when built from a list
};

class IgnoreMatcher {
 public:
  // What a walker carries from a directory to its entries: which patterns matched the directory
  // (or one of its parents). Default-constructed, it means "no parent information".
  class DirState {
   public:
    DirState() = default;

   private:
    friend class IgnoreMatcher;
    std::vector<bool> matched_;
  };

  IgnoreMatcher() = default;  // ignores nothing

  // Parses the text of a .dockerignore file. Errors (an exception that is just "!", a pattern
  // filepath.Match rejects, a line over 64 KiB) name `source:line`.
  static Result<IgnoreMatcher> parse(std::string_view dockerignore_text,
                                     std::string_view source = ".dockerignore");
  // Builds a matcher from patterns as the ignore-file reader returns them ("!" marks exceptions),
  // e.g. from --exclude flags.
  static Result<IgnoreMatcher> fromPatterns(std::span<const std::string> patterns);

  // True when the context path (relative, '/'-separated) is left out of the build context:
  // the last pattern that matches it, or one of its parent directories, is not an exception.
  // The path is cleaned first; "." is never excluded.
  bool matches(std::string_view relative_path) const;

  // The step a context walker takes for each entry: `path` is the cleaned relative path of an
  // entry whose parent directory produced `parent` (default for entries at the root). Fills
  // `self` for directories to pass to their entries. matches(p) walks p's parents this way.
  bool matchesInWalk(std::string_view path, const DirState& parent, DirState* self) const;

  // For an excluded directory: true when the walker may skip it without reading it, because no
  // exception could re-include anything below it. Mirrors BuildKit: only when every exception
  // is a plain path (after a trailing "/**" or "/*") and none of them lies under `dir`.
  // When false, the walker descends; an excluded directory is still sent when something below it
  // is re-included (as its parent), and only then.
  bool canSkipExcludedDir(std::string_view relative_dir) const;

  bool empty() const { return patterns_.empty(); }
  bool hasExceptions() const { return has_exceptions_; }
  const std::vector<IgnorePattern>& patterns() const { return patterns_; }

 private:
  enum class MatchType { kExact, kPrefix, kSuffix, kRegexp };
  struct Compiled {
    MatchType type = MatchType::kExact;
    std::shared_ptr<const re2::RE2> regexp;  // kRegexp only
  };

  static Result<IgnoreMatcher> build(std::vector<IgnorePattern> raw, std::string_view source);
  static Result<Compiled> compileChecked(std::string_view pattern, std::string_view where);
  bool matchOne(std::size_t index, std::string_view path) const;

  std::vector<IgnorePattern> patterns_;
  std::vector<Compiled> compiled_;
  bool has_exceptions_ = false;
  bool only_prefix_exceptions_ = true;
};

// Go's filepath.Clean for '/'-separated paths: the shortest equivalent path ("." when empty).
std::string cleanPath(std::string_view path);

// Go's filepath.Match: shell pattern matching of a whole name ('*' and '?' never match '/',
// '[...]' classes with '^' negation and ranges, '\' escapes). Errors on a malformed pattern.
Result<bool> globMatch(std::string_view pattern, std::string_view name);

}  // namespace hull::dockerfile
