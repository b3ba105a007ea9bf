// .dockerignore with Docker's semantics, step for step:
//   1. the ignore-file reader (docker/cli, moby/patternmatcher's ignorefile.ReadAll): lines,
//      a BOM on the first, '#' comments, trimming, '!' exceptions, filepath.Clean, no leading '/';
//   2. patternmatcher.New: cleaning again, the "!" check, filepath.Match as the syntax check;
//   3. patternmatcher's matching: each pattern becomes an exact, prefix, suffix or regexp match,
//      the regexp built from the pattern exactly as patternmatcher builds it and run by RE2,
//      whose syntax is the one Go's regexp implements — so escapes such as "\d" mean what they
//      mean to Docker;
//   4. BuildKit's walker: parents are matched before their entries (MatchesUsingParentResults).
// The Go helpers this rests on (filepath.Clean, filepath.Match, strings.TrimSpace, UTF-8
// decoding) are small and have no C++ library with the same edge cases, so they live here.
#include "dockerfile/dockerignore.h"

#include <re2/re2.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace hull::dockerfile {
namespace {

constexpr char32_t kRuneError = 0xFFFD;
// bufio.Scanner's default limit: a longer line makes Docker fail to read the file.
constexpr std::size_t kMaxLine = 64 * 1024;

struct Rune {
  char32_t value;
  std::size_t width;
};

// utf8.DecodeRune: invalid, overlong, surrogate or out-of-range sequences decode as one
// RuneError byte.
Rune decodeRune(std::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return {c, 1};
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || s.size() < n) return {kRuneError, 1};
  char32_t r = c & (0x7F >> n);
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return {kRuneError, 1};
    r = (r << 6) | (b(i) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[n] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {kRuneError, 1};
  return {r, n};
}

void appendUtf8(std::string& out, char32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

// unicode.IsSpace.
bool isGoSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

// strings.TrimSpace.
std::string_view trimSpace(std::string_view s) {
  while (!s.empty()) {
    Rune r = decodeRune(s);
    if (!isGoSpace(r.value)) break;
    s.remove_prefix(r.width);
  }
  while (!s.empty()) {
    // Find the start of the last rune: back up over at most three continuation bytes.
    std::size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 &&
           (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
      --start;
    Rune r = decodeRune(s.substr(start));
    if (start + r.width != s.size()) {
      r = {kRuneError, 1};
      start = s.size() - 1;
    }
    if (!isGoSpace(r.value)) break;
    s.remove_suffix(s.size() - start);
  }
  return s;
}

// A regexp only sees valid UTF-8 in Go: invalid bytes read as U+FFFD.
std::string validUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    Rune r = decodeRune(s);
    if (r.value == kRuneError && r.width == 1) {
      appendUtf8(out, kRuneError);
    } else {
      out.append(s.substr(0, r.width));
    }
    s.remove_prefix(r.width);
  }
  return out;
}

bool isValidUtf8(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return validUtf8(s) == s;
  }
  return true;
}

// --- filepath.Match -------------------------------------------------------------------------

struct Chunk {
  bool star = false;
  std::string_view chunk;
  std::string_view rest;
};

Chunk scanChunk(std::string_view pattern) {
  Chunk c;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    c.star = true;
  }
  bool in_range = false;
  std::size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char ch = pattern[i];
    if (ch == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (ch == '[') {
      in_range = true;
    } else if (ch == ']') {
      in_range = false;
    } else if (ch == '*' && !in_range) {
      break;
    }
  }
  c.chunk = pattern.substr(0, i);
  c.rest = pattern.substr(i);
  return c;
}

tl::unexpected<Error> badPattern() {
  return fail(Errc::kInvalidArgument, "syntax error in pattern");
}

// One character of a class range, with its escape; consumes it from `chunk`.
Result<char32_t> classChar(std::string_view& chunk) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return badPattern();
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return badPattern();
  }
  Rune r = decodeRune(chunk);
  if (r.value == kRuneError && r.width == 1) return badPattern();
  chunk.remove_prefix(r.width);
  if (chunk.empty()) return badPattern();
  return r.value;
}

// Parses a "[...]" class (after the '['); `r` is the character to test (ignored when failed).
Result<bool> matchClass(std::string_view& chunk, char32_t r) {
  bool negated = false;
  if (!chunk.empty() && chunk[0] == '^') {
    negated = true;
    chunk.remove_prefix(1);
  }
  bool match = false;
  for (int ranges = 0;; ++ranges) {
    if (!chunk.empty() && chunk[0] == ']' && ranges > 0) {
      chunk.remove_prefix(1);
      break;
    }
    HULL_ASSIGN_OR_RETURN(char32_t lo, classChar(chunk));
    char32_t hi = lo;
    if (chunk[0] == '-') {
      chunk.remove_prefix(1);
      HULL_ASSIGN_OR_RETURN(hi, classChar(chunk));
    }
    if (lo <= r && r <= hi) match = true;
  }
  return match != negated;
}

// Matches `chunk` at the start of `s`; the rest of `s` on success. After a mismatch the chunk is
// still parsed to the end so that a malformed pattern is always reported.
Result<std::optional<std::string_view>> matchChunk(std::string_view chunk, std::string_view s) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    char c = chunk[0];
    if (c == '[') {
      char32_t r = 0;
      if (!failed) {
        Rune rune = decodeRune(s);
        r = rune.value;
        s.remove_prefix(rune.width);
      }
      chunk.remove_prefix(1);
      HULL_ASSIGN_OR_RETURN(bool ok, matchClass(chunk, r));
      if (!ok) failed = true;
      continue;
    }
    if (c == '?') {
      if (!failed) {
        if (s[0] == '/') failed = true;
        s.remove_prefix(decodeRune(s).width);
      }
      chunk.remove_prefix(1);
      continue;
    }
    if (c == '\\') {
      chunk.remove_prefix(1);
      if (chunk.empty()) return badPattern();
    }
    if (!failed) {
      if (chunk[0] != s[0]) failed = true;
      s.remove_prefix(1);
    }
    chunk.remove_prefix(1);
  }
  if (failed) return std::optional<std::string_view>();
  return std::optional<std::string_view>(s);
}

// After a mismatch: the rest of the pattern must still be well-formed.
Result<bool> checkRest(std::string_view pattern) {
  while (!pattern.empty()) {
    Chunk c = scanChunk(pattern);
    pattern = c.rest;
    HULL_TRY(matchChunk(c.chunk, ""));
  }
  return false;
}

// --- patternmatcher's regexp ----------------------------------------------------------------

// Characters a regexp would treat specially but filepath.Match does not.
bool regexpOnlySpecial(char32_t r) {
  return r == '.' || r == '+' || r == '(' || r == ')' || r == '|' || r == '{' || r == '}' ||
         r == '$';
}

// text/scanner's view of a pattern: runes, a leading BOM skipped, invalid bytes as U+FFFD.
std::vector<char32_t> scanRunes(std::string_view s) {
  std::vector<char32_t> runes;
  bool first = true;
  while (!s.empty()) {
    Rune r = decodeRune(s);
    s.remove_prefix(r.width);
    if (first && r.value == 0xFEFF) {
      first = false;
      continue;
    }
    first = false;
    runes.push_back(r.value);
  }
  return runes;
}

std::string withoutTrailingGlob(std::string_view p) {
  if (p.ends_with("/**")) p.remove_suffix(3);
  if (p.ends_with("/*")) p.remove_suffix(2);
  return std::string(p);
}

std::string_view dirOf(std::string_view path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return path.substr(0, slash);
}

std::string location(std::string_view source, int line) {
  if (line > 0) return fmt::format("{}:{}", source, line);
  return "exclude pattern";
}

// ignorefile.ReadAll.
Result<std::vector<IgnorePattern>> readLines(std::string_view text, std::string_view source) {
  std::vector<IgnorePattern> out;
  int line = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line;
    if (raw.size() >= kMaxLine) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("{}: line longer than {} bytes", location(source, line), kMaxLine));
    }
    if (raw.ends_with('\r')) raw.remove_suffix(1);
    if (line == 1 && raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
    // A comment is a '#' in the first column: "  # x" is a pattern.
    if (raw.starts_with('#')) continue;
    std::string_view p = trimSpace(raw);
    if (p.empty()) continue;
    bool invert = p[0] == '!';
    if (invert) p = trimSpace(p.substr(1));
    std::string cleaned;
    if (!p.empty()) {
      cleaned = cleanPath(p);
      if (cleaned.size() > 1 && cleaned[0] == '/') cleaned.erase(0, 1);
    }
    out.push_back({invert ? "!" + cleaned : std::move(cleaned), false, line});
  }
  return out;
}

enum class Kind { kExact, kPrefix, kSuffix, kRegexp };

struct CompiledPattern {
  Kind type = Kind::kExact;
  std::string regexp;
};

// Pattern.compile with '/' as the separator.
CompiledPattern compilePattern(std::string_view pattern) {
  using enum Kind;
  std::vector<char32_t> runes = scanRunes(pattern);
  CompiledPattern out{kExact, "^"};
  std::string& re = out.regexp;
  std::size_t k = 0;
  for (int i = 0; k < runes.size(); ++i) {
    char32_t ch = runes[k++];
    if (ch == '*') {
      if (k < runes.size() && runes[k] == '*') {
        ++k;
        if (k < runes.size() && runes[k] == '/') ++k;  // "**/" is "**"
        if (k == runes.size()) {
          if (out.type == kExact) {
            out.type = kPrefix;
          } else {
            re += ".*";
            out.type = kRegexp;
          }
        } else {
          re += "(.*/)?";
          out.type = kRegexp;
        }
        if (i == 0) out.type = kSuffix;
      } else {
        re += "[^/]*";
        out.type = kRegexp;
      }
    } else if (ch == '?') {
      re += "[^/]";
      out.type = kRegexp;
    } else if (regexpOnlySpecial(ch)) {
      re += '\\';
      appendUtf8(re, ch);
    } else if (ch == '\\') {
      re += '\\';
      if (k < runes.size()) {
        appendUtf8(re, runes[k++]);
        out.type = kRegexp;
      }
    } else if (ch == '[' || ch == ']') {
      appendUtf8(re, ch);
      out.type = kRegexp;
    } else {
      appendUtf8(re, ch);
    }
  }
  if (out.type == kRegexp) re += '$';
  return out;
}

// Go's regexp has no "\\C" (any byte) escape; RE2 would accept it.
bool hasAnyByteEscape(std::string_view re) {
  for (std::size_t i = 0; i + 1 < re.size(); ++i) {
    if (re[i] != '\\') continue;
    if (re[i + 1] == 'C') return true;
    ++i;
  }
  return false;
}

}  // namespace

std::string cleanPath(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::string out;
  if (rooted) out = "/";
  std::size_t dotdot = out.size();  // where ".." can no longer back up
  std::size_t i = rooted ? 1 : 0;
  while (i < path.size()) {
    std::size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view elem = path.substr(i, end - i);
    i = end + 1;
    if (elem.empty() || elem == ".") continue;
    if (elem == "..") {
      if (out.size() > dotdot) {
        std::size_t cut = out.rfind('/');
        cut = (cut == std::string::npos || cut < dotdot) ? dotdot : cut;
        out.resize(cut);
      } else if (!rooted) {
        if (!out.empty()) out += '/';
        out += "..";
        dotdot = out.size();
      }
      continue;
    }
    if (out.size() > (rooted ? 1u : 0u)) out += '/';
    out += elem;
  }
  if (out.empty()) return ".";
  return out;
}

Result<bool> globMatch(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    Chunk c = scanChunk(pattern);
    pattern = c.rest;
    if (c.star && c.chunk.empty()) return name.find('/') == std::string_view::npos;
    HULL_ASSIGN_OR_RETURN(auto rest, matchChunk(c.chunk, name));
    if (rest && (rest->empty() || !pattern.empty())) {
      name = *rest;
      continue;
    }
    bool advanced = false;
    if (c.star) {
      // The star may absorb more of the name, but never a '/'.
      for (std::size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        HULL_ASSIGN_OR_RETURN(auto t, matchChunk(c.chunk, name.substr(i + 1)));
        if (!t || (pattern.empty() && !t->empty())) continue;
        name = *t;
        advanced = true;
        break;
      }
    }
    if (!advanced) return checkRest(pattern);
  }
  return name.empty();
}

Result<IgnoreMatcher> IgnoreMatcher::parse(std::string_view dockerignore_text,
                                           std::string_view source) {
  HULL_ASSIGN_OR_RETURN(std::vector<IgnorePattern> raw, readLines(dockerignore_text, source));
  return build(std::move(raw), source);
}

Result<IgnoreMatcher> IgnoreMatcher::fromPatterns(std::span<const std::string> list) {
  std::vector<IgnorePattern> raw;
  for (const std::string& p : list) raw.push_back({p, false, 0});
  return build(std::move(raw), "");
}

Result<IgnoreMatcher::Compiled> IgnoreMatcher::compileChecked(std::string_view pattern,
                                                              std::string_view where) {
  // patternmatcher checks the syntax with filepath.Match; Docker compiles the regexp on first
  // use, where an error fails the build; here it fails the parse.
  if (!globMatch(pattern, ".")) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: syntax error in pattern \"{}\"", where, pattern));
  }
  CompiledPattern c = compilePattern(pattern);
  Compiled compiled;
  switch (c.type) {
    case Kind::kExact:
      compiled.type = MatchType::kExact;
      break;
    case Kind::kPrefix:
      compiled.type = MatchType::kPrefix;
      break;
    case Kind::kSuffix:
      compiled.type = MatchType::kSuffix;
      break;
    case Kind::kRegexp:
      compiled.type = MatchType::kRegexp;
      break;
  }
  if (compiled.type != MatchType::kRegexp) return compiled;
  if (hasAnyByteEscape(c.regexp)) {
    return fail(
        Errc::kInvalidArgument,
        fmt::format("{}: invalid pattern \"{}\": invalid escape sequence \\C", where, pattern));
  }
  RE2::Options options;
  options.set_log_errors(false);
  auto re =
      std::make_shared<const RE2>(re2::StringPiece(c.regexp.data(), c.regexp.size()), options);
  if (!re->ok()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: invalid pattern \"{}\": {}", where, pattern, re->error()));
  }
  compiled.regexp = std::move(re);
  return compiled;
}

// patternmatcher.New over the reader's output.
Result<IgnoreMatcher> IgnoreMatcher::build(std::vector<IgnorePattern> raw,
                                           std::string_view source) {
  IgnoreMatcher m;
  for (IgnorePattern& p : raw) {
    // Trimmed and cleaned once more: "!/" becomes "!" only here.
    std::string_view text = trimSpace(p.pattern);
    if (text.empty()) continue;
    p.pattern = cleanPath(text);
    std::string where = location(source, p.line);
    if (p.pattern[0] == '!') {
      if (p.pattern.size() == 1) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("{}: illegal exclusion pattern: \"!\"", where));
      }
      p.exception = true;
      p.pattern.erase(0, 1);
    }
    HULL_ASSIGN_OR_RETURN(Compiled compiled, compileChecked(p.pattern, where));
    if (p.exception) {
      m.has_exceptions_ = true;
      // BuildKit skips excluded directories only when every exception is a plain path.
      if (withoutTrailingGlob(p.pattern).find_first_of("*[]?^\\") != std::string::npos) {
        m.only_prefix_exceptions_ = false;
      }
    }
    m.compiled_.push_back(std::move(compiled));
    m.patterns_.push_back(std::move(p));
  }
  return m;
}

bool IgnoreMatcher::matchOne(std::size_t index, std::string_view path) const {
  const std::string& p = patterns_[index].pattern;
  const Compiled& c = compiled_[index];
  switch (c.type) {
    case MatchType::kExact:
      return path == p;
    case MatchType::kPrefix:
      return path.starts_with(std::string_view(p).substr(0, p.size() - 2));
    case MatchType::kSuffix: {
      std::string_view suffix = std::string_view(p).substr(2);
      if (path.ends_with(suffix)) return true;
      return suffix[0] == '/' && path == suffix.substr(1);
    }
    case MatchType::kRegexp:
      if (isValidUtf8(path))
        return RE2::PartialMatch(re2::StringPiece(path.data(), path.size()), *c.regexp);
      return RE2::PartialMatch(validUtf8(path), *c.regexp);
  }
  return false;
}

bool IgnoreMatcher::matchesInWalk(std::string_view path, const DirState& parent,
                                  DirState* self) const {
  const std::vector<bool>& parent_matched = parent.matched_;
  bool have_parent = !parent_matched.empty() && parent_matched.size() == patterns_.size();
  std::vector<bool> here(patterns_.size(), false);
  bool matched = false;
  for (std::size_t i = 0; i < patterns_.size(); ++i) {
    bool match = have_parent && parent_matched[i];
    if (!match) {
      // Only a pattern that could change the outcome is evaluated: an exception while
      // excluded, an exclusion while not.
      if (patterns_[i].exception != matched) continue;
      match = matchOne(i, path);
      if (!match && !have_parent) {
        std::string_view dir = dirOf(path);
        for (std::size_t pos = 0; !match && dir != ".";) {
          std::size_t slash = dir.find('/', pos);
          match = matchOne(i, dir.substr(0, slash));
          if (slash == std::string_view::npos) break;
          pos = slash + 1;
        }
      }
    }
    here[i] = match;
    if (match) matched = !patterns_[i].exception;
  }
  if (self != nullptr) self->matched_ = std::move(here);
  return matched;
}

bool IgnoreMatcher::matches(std::string_view relative_path) const {
  if (patterns_.empty()) return false;
  std::string path = cleanPath(relative_path);
  if (path.size() > 1 && path[0] == '/') path.erase(0, 1);
  if (path == "." || path == "/") return false;
  // Walk down from the root so that every parent directory is matched first, as in a walk.
  DirState state;
  for (std::size_t pos = 0;;) {
    std::size_t slash = path.find('/', pos);
    std::string_view prefix = std::string_view(path).substr(0, slash);
    if (slash == std::string::npos) return matchesInWalk(prefix, state, nullptr);
    DirState next;
    (void)matchesInWalk(prefix, state, &next);
    state = std::move(next);
    pos = slash + 1;
  }
}

bool IgnoreMatcher::canSkipExcludedDir(std::string_view relative_dir) const {
  if (!only_prefix_exceptions_) return false;
  if (!has_exceptions_) return true;
  std::string dir_slash = std::string(relative_dir) + "/";
  for (const IgnorePattern& p : patterns_) {
    if (p.exception && (withoutTrailingGlob(p.pattern) + "/").starts_with(dir_slash)) return false;
  }
  return true;
}

}  // namespace hull::dockerfile
