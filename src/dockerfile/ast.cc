#include "dockerfile/ast.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/json.h"
#include "dockerfile/lexer.h"
#include "dockerfile/line_parsers.h"
#include "dockerfile/text.h"

namespace hull::dockerfile {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view trimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool isComment(std::string_view raw) {
  std::string_view s = trimLeft(trimNewline(raw));
  return !s.empty() && s[0] == '#';
}

// Splits the input into lines the way a line scanner does: the last line may lack its newline.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    std::size_t nl = text_.find('\n', pos_);
    std::size_t end = nl == std::string_view::npos ? text_.size() : nl + 1;
    *line = text_.substr(pos_, end - pos_);
    pos_ = end;
    ++number_;
    return true;
  }
  int number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int number_ = 0;
};

// Parser directives are recognised only until the first line that is not one.
class DirectiveParser {
 public:
  Result<void> feed(std::string_view line, int number, Ast* ast) {
    if (done_) return {};
    std::string name, value;
    if (!match(line, &name, &value)) {
      done_ = true;
      return {};
    }
    if (name != "escape" && name != "syntax" && name != "check") {
      done_ = true;
      return {};
    }
    if (!seen_.insert(name).second) {
      return fail(Errc::kInvalidArgument, "only one " + name + " parser directive can be used");
    }
    if (name == "escape") {
      if (value != "`" && value != "\\") {
        return fail(Errc::kInvalidArgument,
                    "invalid escape token '" + value + "' does not match ` or \\");
      }
      ast->escape = value[0];
    }
    ast->directives.push_back({name, value, number});
    return {};
  }

 private:
  // ^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$
  static bool match(std::string_view s, std::string* name, std::string* value) {
    if (s.empty() || s[0] != '#') return false;
    std::size_t i = 1;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size() || !std::isalpha(static_cast<unsigned char>(s[i]))) return false;
    std::size_t start = i;
    while (i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]))) ++i;
    *name = asciiLower(s.substr(start, i - start));
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size() || s[i] != '=') return false;
    ++i;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::string_view v = s.substr(i);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty()) return false;
    *value = std::string(v);
    return true;
  }

  bool done_ = false;
  std::set<std::string> seen_;
};

// Returns the line without a trailing escape character (and blanks after it); *end is false
// when the line continues.
std::string_view trimContinuation(std::string_view line, char escape, bool* end) {
  std::string_view s = line;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.back() == escape) {
    *end = false;
    s.remove_suffix(1);
    return s;
  }
  *end = true;
  return line;
}

Result<std::vector<Heredoc>> heredocsFromLine(std::string_view line) {
  LexOptions opt;
  opt.raw_quotes = true;
  opt.raw_escapes = true;
  auto words = Lexer(opt).processWords(line, Env{});
  std::vector<Heredoc> docs;
  if (!words) return docs;  // an unbalanced quote: no heredocs, as BuildKit
  for (const auto& word : *words) {
    bool is_heredoc = false;
    HULL_ASSIGN_OR_RETURN(Heredoc doc, parseHeredocWord(word, &is_heredoc));
    if (is_heredoc) docs.push_back(std::move(doc));
  }
  return docs;
}

bool canContainHeredoc(const Node& node) {
  const Node* n = &node;
  if (asciiLower(n->keyword) == "onbuild" && !n->children.empty()) n = &n->children[0];
  std::string k = asciiLower(n->keyword);
  return (k == "run" || k == "copy" || k == "add") && !n->json;
}

std::string chompContent(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out += c;
  }
  return out;
}

struct ParseState {
  std::string_view file;
  LineReader reader;
  DirectiveParser directives;
  Ast ast;
};

Result<void> readHeredocs(ParseState& st, Node& node, std::string_view line) {
  auto parsed = heredocsFromLine(line);
  if (!parsed) return fail(locatedError(st.file, node.range.start, parsed.error().message));
  std::vector<Heredoc> docs = std::move(parsed).value();
  for (auto& doc : docs) {
    bool terminated = false;
    std::string_view raw;
    while (st.reader.next(&raw)) {
      std::string_view candidate = trimNewline(raw);
      std::string_view body_line = candidate;
      if (doc.chomp) {
        while (!candidate.empty() && candidate[0] == '\t') candidate.remove_prefix(1);
      }
      if (candidate == doc.name) {
        terminated = true;
        break;
      }
      doc.content.append(body_line);
      doc.content += '\n';
    }
    if (!terminated) {
      return fail(
          locatedError(st.file, node.range.start,
                       "unterminated heredoc " + doc.name + " (no line \"" + doc.name + "\")"));
    }
    if (doc.chomp) doc.content = chompContent(doc.content);
    node.heredocs.push_back(std::move(doc));
  }
  return {};
}

// Reads the rest of a logical line after its first physical line.
struct Logical {
  std::string line;
  bool continued_to_eof = false;
};

Result<Logical> readContinuation(ParseState& st, std::string first, bool end, int start) {
  Logical out{std::move(first), false};
  bool empty_continuation = false;
  std::string_view raw;
  while (!end) {
    if (!st.reader.next(&raw)) {
      out.continued_to_eof = true;
      break;
    }
    std::string_view text = trimNewline(raw);
    if (auto r = st.directives.feed(text, st.reader.number(), &st.ast); !r) {
      return fail(locatedError(st.file, st.reader.number(), r.error().message));
    }
    if (isComment(raw)) continue;
    if (trimLeft(text).empty()) {
      empty_continuation = true;
      continue;
    }
    out.line += trimContinuation(text, st.ast.escape, &end);
  }
  if (empty_continuation) {
    st.ast.warnings.push_back(
        {start, "empty continuation line (a future Dockerfile syntax makes it an error)"});
  }
  return out;
}

}  // namespace

Error locatedError(std::string_view file, int line, std::string_view message) {
  return Error{Errc::kInvalidArgument,
               std::string(file) + ":" + std::to_string(line) + ": " + std::string(message)};
}

Result<Heredoc> parseHeredocWord(std::string_view word, bool* is_heredoc) {
  *is_heredoc = false;
  // ^(\d*)<<(-?)([^<]*)$
  std::size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  if (word.substr(i, 2) != "<<") return Heredoc{};
  i += 2;
  bool chomp = i < word.size() && word[i] == '-';
  if (chomp) ++i;
  std::string_view rest = word.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return Heredoc{};
  LexOptions opt;
  opt.skip_unset = true;
  auto words = Lexer(opt).processWords(rest, Env{});
  if (!words) return fail(std::move(words).error());
  if (words->size() != 1) return Heredoc{};
  opt.raw_quotes = true;
  auto raw = Lexer(opt).processWords(rest, Env{});
  if (!raw) return fail(std::move(raw).error());
  if (raw->size() != 1) {
    return fail(Errc::kInvalidArgument,
                "internal lexing of heredoc produced inconsistent results: " + std::string(rest));
  }
  auto quotes = [](const std::string& s) {
    return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"');
  };
  *is_heredoc = true;
  Heredoc doc;
  doc.name = (*words)[0];
  doc.expand = quotes((*words)[0]) == quotes((*raw)[0]);
  doc.chomp = chomp;
  return doc;
}

Result<Ast> parseAst(std::string_view text, std::string_view file) {
  if (text.size() > kMaxDockerfileSize) {
    return fail(Errc::kInvalidArgument, std::string(file) + ": larger than " +
                                            std::to_string(kMaxDockerfileSize >> 20) +
                                            " MiB, refusing to parse");
  }
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  ParseState st{file, LineReader(text), {}, {}};
  std::vector<std::string> comments;
  std::string_view raw;
  while (st.reader.next(&raw)) {
    int start = st.reader.number();
    std::string_view text_line = trimLeft(trimNewline(raw));
    if (isComment(raw)) {
      std::string_view c = trim(text_line.substr(1));
      if (c.empty())
        comments.clear();
      else
        comments.emplace_back(c);
    }
    if (auto r = st.directives.feed(text_line, start, &st.ast); !r) {
      return fail(locatedError(file, start, r.error().message));
    }
    if (isComment(raw)) text_line = {};
    bool end = true;
    std::string_view first = trimContinuation(text_line, st.ast.escape, &end);
    if (end && first.empty()) continue;
    HULL_ASSIGN_OR_RETURN(Logical logical, readContinuation(st, std::string(first), end, start));
    auto parsed = nodeFromLine(logical.line, st.ast.escape);
    if (!parsed) return fail(locatedError(file, start, parsed.error().message));
    Node node = std::move(parsed).value();
    node.range = {start, st.reader.number()};
    node.comments = std::move(comments);
    comments.clear();
    if (logical.continued_to_eof) {
      if (node.args.empty() && node.children.empty() && node.flags.empty()) {
        return fail(locatedError(
            file, start, "unexpected end of file: line continuation with nothing after it"));
      }
      st.ast.warnings.push_back({start, "line continuation at end of file"});
    }
    if (canContainHeredoc(node) && logical.line.find("<<") != std::string::npos) {
      HULL_TRY(readHeredocs(st, node, logical.line));
      node.range.end = st.reader.number();
    }
    st.ast.nodes.push_back(std::move(node));
  }
  if (st.ast.nodes.empty()) {
    return fail(locatedError(file, std::max(1, st.reader.number()), "file with no instructions"));
  }
  return std::move(st.ast);
}

}  // namespace hull::dockerfile
