#include "dockerfile/lexer.h"

#include <algorithm>
#include <optional>

namespace hull::dockerfile {
namespace {

constexpr int kEof = -1;

bool isSpace(int ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}
bool isDigit(int ch) { return ch >= '0' && ch <= '9'; }
bool isNameChar(int ch) {
  return isDigit(ch) || ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}
bool isSpecialParam(int ch) {
  switch (ch) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

// Accumulates the split words while the joined result is built alongside.
struct Words {
  std::string word;
  std::vector<std::string> words;
  bool in_word = false;

  void addChar(char ch) {
    if (isSpace(static_cast<unsigned char>(ch))) {
      if (in_word && !word.empty()) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      return;
    }
    addRawChar(ch);
  }
  void addRawChar(char ch) {
    word += ch;
    in_word = true;
  }
  void addString(std::string_view s) {
    for (char ch : s) addChar(ch);
  }
  void addRawString(std::string_view s) {
    word += s;
    in_word = true;
  }
  std::vector<std::string> take() {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
    return std::move(words);
  }
};

struct Processed {
  std::string result;
  std::vector<std::string> words;
};

Error lexError(std::string message) { return Error{Errc::kInvalidArgument, std::move(message)}; }

class ShellWord {
 public:
  ShellWord(std::string_view src, const Env& env, const LexOptions& options)
      : src_(src), env_(env), opt_(options) {}

  Result<Processed> process() {
    auto r = processStopOn(kEof, opt_.raw_escapes);
    if (!r) {
      std::string quoted(src_.substr(0, 60));
      if (src_.size() > 60) quoted += "...";
      return fail(r.error().wrap("failed to process \"" + quoted + "\""));
    }
    return r;
  }

 private:
  int peek() const { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_]) : kEof; }
  int next() { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_++]) : kEof; }

  std::optional<std::string> lookup(const std::string& name) const {
    auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    return it->second;
  }

  Result<Processed> processStopOn(int stop, bool raw_escapes);
  Result<std::string> processSingleQuote();
  Result<std::string> processDoubleQuote();
  Result<std::string> processDollar();
  Result<std::string> applyModifier(const std::string& name, char op, bool null_is_unset,
                                    const std::string& chs);
  Result<std::string> processSubstitution(const std::string& name);
  std::string processName();

  std::string_view src_;
  std::size_t pos_ = 0;
  const Env& env_;
  LexOptions opt_;
  bool raw_escapes_ = false;
  int depth_ = 0;
};

Result<Processed> ShellWord::processStopOn(int stop, bool raw_escapes) {
  if (++depth_ > kMaxExpansionDepth) {
    return fail(lexError("variable expansion nested deeper than " +
                         std::to_string(kMaxExpansionDepth) + " levels"));
  }
  bool saved_raw = raw_escapes_;
  raw_escapes_ = raw_escapes;
  std::string result;
  Words words;
  auto finish = [&](Processed p) -> Result<Processed> {
    raw_escapes_ = saved_raw;
    --depth_;
    return p;
  };
  const int escape = static_cast<unsigned char>(opt_.escape);
  while (peek() != kEof) {
    int ch = peek();
    if (stop != kEof && ch == stop) {
      next();
      return finish({std::move(result), words.take()});
    }
    if (ch == '$' || (!opt_.skip_quotes && (ch == '\'' || ch == '"'))) {
      Result<std::string> part = ch == '$'    ? processDollar()
                                 : ch == '\'' ? processSingleQuote()
                                              : processDoubleQuote();
      if (!part) return fail(std::move(part).error());
      if (result.size() + part->size() > opt_.max_output) {
        return fail(lexError("variable expansion result larger than " +
                             std::to_string(opt_.max_output) + " bytes"));
      }
      result += *part;
      if (ch == '$')
        words.addString(*part);
      else
        words.addRawString(*part);
      continue;
    }
    ch = next();
    if (ch == escape) {
      if (raw_escapes_) {
        words.addRawChar(static_cast<char>(ch));
        result += static_cast<char>(ch);
      }
      ch = next();
      if (ch == kEof) break;
      words.addRawChar(static_cast<char>(ch));
    } else {
      words.addChar(static_cast<char>(ch));
    }
    result += static_cast<char>(ch);
  }
  if (stop != kEof) {
    return fail(lexError(std::string("unexpected end of statement while looking for matching ") +
                         static_cast<char>(stop)));
  }
  return finish({std::move(result), words.take()});
}

Result<std::string> ShellWord::processSingleQuote() {
  std::string result;
  int ch = next();
  if (opt_.raw_quotes) result += static_cast<char>(ch);
  for (;;) {
    ch = next();
    if (ch == kEof) {
      return fail(lexError("unexpected end of statement while looking for matching single-quote"));
    }
    if (ch == '\'') {
      if (opt_.raw_quotes) result += '\'';
      return result;
    }
    result += static_cast<char>(ch);
  }
}

Result<std::string> ShellWord::processDoubleQuote() {
  std::string result;
  int ch = next();
  if (opt_.raw_quotes) result += static_cast<char>(ch);
  const int escape = static_cast<unsigned char>(opt_.escape);
  for (;;) {
    switch (peek()) {
      case kEof:
        return fail(
            lexError("unexpected end of statement while looking for matching double-quote"));
      case '"':
        next();
        if (opt_.raw_quotes) result += '"';
        return result;
      case '$': {
        if (++depth_ > kMaxExpansionDepth) {
          return fail(lexError("variable expansion nested deeper than " +
                               std::to_string(kMaxExpansionDepth) + " levels"));
        }
        auto value = processDollar();
        --depth_;
        if (!value) return fail(std::move(value).error());
        if (result.size() + value->size() > opt_.max_output) {
          return fail(lexError("variable expansion result larger than " +
                               std::to_string(opt_.max_output) + " bytes"));
        }
        result += *value;
        break;
      }
      default:
        ch = next();
        if (ch == escape) {
          if (raw_escapes_) result += static_cast<char>(ch);
          int after = peek();
          if (after == kEof) continue;  // an escape at the end of the word is dropped
          // Only these can be escaped inside double quotes; other escapes stay literal.
          if (after == '"' || after == '$' || after == escape) ch = next();
        }
        result += static_cast<char>(ch);
    }
  }
}

std::string ShellWord::processName() {
  std::string name;
  while (peek() != kEof) {
    int ch = peek();
    if (name.empty() && isDigit(ch)) {
      while (isDigit(peek())) name += static_cast<char>(next());
      return name;
    }
    if (name.empty() && isSpecialParam(ch)) return std::string(1, static_cast<char>(next()));
    if (!isNameChar(ch)) break;
    name += static_cast<char>(next());
  }
  return name;
}

Result<std::string> ShellWord::processDollar() {
  next();  // '$'
  if (peek() != '{') {
    std::string name = processName();
    if (name.empty()) return std::string("$");
    auto value = lookup(name);
    if (!value && opt_.skip_unset) return "$" + name;
    return value.value_or("");
  }
  next();  // '{'
  switch (peek()) {
    case kEof:
      return fail(lexError("syntax error: missing '}'"));
    case '{':
    case '}':
    case ':':
      return fail(lexError("syntax error: bad substitution"));
  }
  std::string name = processName();
  int ch = next();
  std::string chs = ch == kEof ? "" : std::string(1, static_cast<char>(ch));
  switch (ch) {
    case '}': {
      auto value = lookup(name);
      if (!value && opt_.skip_unset) return "${" + name + "}";
      return value.value_or("");
    }
    case ':': {
      int op = next();
      if (op == kEof) return fail(lexError("syntax error: missing '}'"));
      chs += static_cast<char>(op);
      return applyModifier(name, static_cast<char>(op), true, chs);
    }
    case '+':
    case '-':
    case '?':
    case '#':
    case '%':
      return applyModifier(name, static_cast<char>(ch), false, chs);
    case '/':
      return processSubstitution(name);
    case kEof:
      return fail(lexError("syntax error: missing '}'"));
    default:
      return fail(lexError("unsupported modifier (" + chs + ") in substitution"));
  }
}

Result<std::string> trimByPattern(std::string word, const std::string& value, char op) {
  bool longest = !word.empty() && word[0] == op;
  if (longest) word.erase(0, 1);
  auto pattern = ShellPattern::compile(word);
  if (!pattern) {
    return fail(
        lexError("invalid pattern (" + word + ") in substitution: " + pattern.error().message));
  }
  if (op == '#') {
    std::size_t n = pattern->matchPrefix(value, longest);
    return n == std::string::npos ? value : value.substr(n);
  }
  std::size_t n = pattern->matchSuffix(value, longest);
  return n == std::string::npos ? value : value.substr(0, value.size() - n);
}

Result<std::string> ShellWord::applyModifier(const std::string& name, char op, bool null_is_unset,
                                             const std::string& chs) {
  bool pattern_op = op == '#' || op == '%';
  if (null_is_unset && pattern_op) {
    return fail(lexError("unsupported modifier (" + chs + ") in substitution"));
  }
  if (op != '+' && op != '-' && op != '?' && !pattern_op) {
    return fail(lexError("unsupported modifier (" + chs + ") in substitution"));
  }
  auto word = processStopOn('}', pattern_op);
  if (!word) {
    if (peek() == kEof) return fail(lexError("syntax error: missing '}'"));
    return fail(std::move(word).error());
  }
  auto value = lookup(name);
  if (!value && opt_.skip_unset) return "${" + name + chs + word->result + "}";
  bool unset = !value || (null_is_unset && value->empty());
  switch (op) {
    case '-':
      return unset ? word->result : *value;
    case '+':
      return unset ? std::string() : word->result;
    case '?':
      if (!value || unset) {
        std::string message = word->result;
        if (message.empty()) {
          message = !value ? "is not allowed to be unset" : "is not allowed to be empty";
        }
        return fail(lexError(name + ": " + message));
      }
      return *value;
    default:
      return trimByPattern(word->result, value.value_or(""), op);
  }
}

Result<std::string> ShellWord::processSubstitution(const std::string& name) {
  bool all = peek() == '/';
  if (all) next();
  auto pattern = processStopOn('/', true);
  if (!pattern) {
    if (peek() == kEof) return fail(lexError("syntax error: missing '/' in ${}"));
    return fail(std::move(pattern).error());
  }
  auto replacement = processStopOn('}', true);
  if (!replacement) {
    if (peek() == kEof) return fail(lexError("syntax error: missing '}'"));
    return fail(std::move(replacement).error());
  }
  auto value = lookup(name);
  if (!value && opt_.skip_unset) {
    return "${" + name + "/" + pattern->result + "/" + replacement->result + "}";
  }
  auto compiled = ShellPattern::compile(pattern->result);
  if (!compiled) {
    return fail(lexError("invalid pattern (" + pattern->result +
                         ") in substitution: " + compiled.error().message));
  }
  std::string v = value.value_or("");
  // Matching is quadratic in the value's length; values that long are not build arguments.
  if (v.size() > 64 * 1024) return fail(lexError("value of " + name + " too long to substitute"));
  std::string out;
  std::size_t from = 0;
  while (from <= v.size()) {
    auto [start, len] = compiled->find(v, from);
    if (start == std::string::npos) break;
    out.append(v, from, start - from);
    out += replacement->result;
    if (out.size() > opt_.max_output) {
      return fail(lexError("variable expansion result larger than " +
                           std::to_string(opt_.max_output) + " bytes"));
    }
    from = start + len;
    if (len == 0) {
      if (from < v.size()) out += v[from];
      ++from;
    }
    if (!all) break;
  }
  if (from < v.size()) out.append(v, from);
  return out;
}

}  // namespace

Result<std::string> Lexer::processWord(std::string_view word, const Env& env) const {
  ShellWord sw(word, env, options_);
  HULL_ASSIGN_OR_RETURN(Processed p, sw.process());
  return std::move(p.result);
}

Result<std::vector<std::string>> Lexer::processWords(std::string_view word, const Env& env) const {
  ShellWord sw(word, env, options_);
  HULL_ASSIGN_OR_RETURN(Processed p, sw.process());
  return std::move(p.words);
}

Result<ShellPattern> ShellPattern::compile(std::string_view pattern) {
  ShellPattern p;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char ch = pattern[i];
    if (ch == '*') {
      // Consecutive stars match what one does; folding them keeps matching linear.
      if (p.tokens_.empty() || p.tokens_.back().kind != Token::kStar) {
        p.tokens_.push_back({Token::kStar, 0});
      }
    } else if (ch == '?') {
      p.tokens_.push_back({Token::kAny, 0});
    } else if (ch == '\\') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '}') continue;
      char escaped = i + 1 < pattern.size() ? pattern[++i] : '\0';
      if (escaped != '*' && escaped != '?' && escaped != '\\') {
        return fail(lexError(std::string("invalid escape '\\") + escaped + "'"));
      }
      p.tokens_.push_back({Token::kLiteral, escaped});
    } else {
      p.tokens_.push_back({Token::kLiteral, ch});
    }
  }
  p.reversed_.assign(p.tokens_.rbegin(), p.tokens_.rend());
  return p;
}

// Simulates the pattern's automaton over value (or its reverse) and reports the shortest or
// longest prefix that reaches the accepting state: O(len(value) * len(pattern)).
std::size_t ShellPattern::run(const std::vector<Token>& tokens, std::string_view value,
                              bool longest, bool reverse) {
  const std::size_t m = tokens.size();
  std::vector<char> cur(m + 1, 0), nxt(m + 1, 0);
  auto close = [&](std::vector<char>& s) {
    for (std::size_t i = 0; i < m; ++i) {
      if (s[i] && tokens[i].kind == Token::kStar) s[i + 1] = 1;
    }
  };
  cur[0] = 1;
  close(cur);
  std::size_t best = cur[m] ? 0 : std::string::npos;
  if (best == 0 && !longest) return 0;
  for (std::size_t n = 0; n < value.size(); ++n) {
    char c = reverse ? value[value.size() - 1 - n] : value[n];
    std::fill(nxt.begin(), nxt.end(), 0);
    bool any = false;
    for (std::size_t i = 0; i < m; ++i) {
      if (!cur[i]) continue;
      const Token& t = tokens[i];
      if (t.kind == Token::kStar)
        nxt[i] = any = true;
      else if (t.kind == Token::kAny || t.ch == c)
        nxt[i + 1] = any = true;
    }
    if (!any) break;
    close(nxt);
    cur.swap(nxt);
    if (cur[m]) {
      best = n + 1;
      if (!longest) return best;
    }
  }
  return best;
}

std::size_t ShellPattern::matchPrefix(std::string_view value, bool longest) const {
  return run(tokens_, value, longest, false);
}

std::size_t ShellPattern::matchSuffix(std::string_view value, bool longest) const {
  return run(reversed_, value, longest, true);
}

std::pair<std::size_t, std::size_t> ShellPattern::find(std::string_view value,
                                                       std::size_t from) const {
  for (std::size_t start = from; start <= value.size(); ++start) {
    std::size_t n = run(tokens_, value.substr(start), true, false);
    if (n != std::string::npos) return {start, n};
  }
  return {std::string::npos, 0};
}

}  // namespace hull::dockerfile
