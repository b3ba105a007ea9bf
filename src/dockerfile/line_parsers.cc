#include "dockerfile/line_parsers.h"

#include "base/json.h"
#include "dockerfile/text.h"

namespace hull::dockerfile {
namespace {

enum class Phase { kSpaces, kWord, kQuote };

Error splitError(std::string message) { return Error{Errc::kInvalidArgument, std::move(message)}; }

// Returns true and fills `out` when rest is a JSON array of strings; an array holding anything
// else is an error; anything that is not JSON falls back to the shell form (returns false).
Result<bool> parseJsonArray(std::string_view rest, std::vector<std::string>* out) {
  rest = trimLeft(rest);
  if (rest.empty() || rest[0] != '[') return false;
  auto j = parseJson(rest, "JSON array");
  if (!j || !j->is_array()) return false;
  out->clear();
  for (const auto& item : *j) {
    if (!item.is_string()) {
      return fail(
          splitError("when using JSON array syntax, arrays must be comprised of strings only"));
    }
    out->push_back(item.get<std::string>());
  }
  return true;
}

Result<void> maybeJson(std::string_view rest, Node* node, bool to_list) {
  if (!to_list && rest.empty()) return {};
  HULL_ASSIGN_OR_RETURN(bool json, parseJsonArray(rest, &node->args));
  node->json = json;
  if (json) return {};
  if (to_list)
    node->args = splitBlanks(rest);
  else
    node->args = {std::string(rest)};
  return {};
}

Result<void> nameVal(std::string_view rest, std::string_view keyword, char escape, Node* node) {
  auto words = parseWords(rest, escape);
  if (words.empty()) return {};
  if (words[0].find('=') == std::string::npos) {
    // Legacy form "ENV name value": everything after the name is the value.
    std::size_t i = 0;
    while (i < rest.size() && !isBlank(rest[i])) ++i;
    std::size_t j = i;
    while (j < rest.size() && isBlank(rest[j])) ++j;
    if (i == rest.size())
      return fail(splitError(std::string(keyword) + " must have two arguments"));
    node->args = {std::string(rest.substr(0, i)), std::string(rest.substr(j)), ""};
    return {};
  }
  for (const auto& word : words) {
    auto eq = word.find('=');
    if (eq == std::string::npos) {
      return fail(splitError("Syntax error - can't find = in \"" + word +
                             "\". Must be of the form: name=value"));
    }
    node->args.push_back(word.substr(0, eq));
    node->args.push_back(word.substr(eq + 1));
    node->args.push_back("=");
  }
  return {};
}

Result<void> healthConfig(std::string_view rest, Node* node) {
  std::size_t sep = 0;
  while (sep < rest.size() && !isBlank(rest[sep])) ++sep;
  if (sep == 0) return {};
  std::size_t next = sep;
  while (next < rest.size() && isBlank(rest[next])) ++next;
  Node cmd;
  HULL_TRY(maybeJson(rest.substr(next), &cmd, false));
  node->args.push_back(std::string(rest.substr(0, sep)));
  node->args.insert(node->args.end(), cmd.args.begin(), cmd.args.end());
  node->json = cmd.json;
  return {};
}

Result<void> splitArgs(std::string_view rest, char escape, Node* node) {
  std::string k = asciiLower(node->keyword);
  if (k == "add" || k == "copy" || k == "volume") return maybeJson(rest, node, true);
  if (k == "run" || k == "cmd" || k == "entrypoint" || k == "shell") {
    return maybeJson(rest, node, false);
  }
  if (k == "env" || k == "label") return nameVal(rest, asciiUpper(k), escape, node);
  if (k == "arg") {
    node->args = parseWords(rest, escape);
    return {};
  }
  if (k == "expose" || k == "from") {
    node->args = splitBlanks(rest);
    return {};
  }
  if (k == "maintainer" || k == "stopsignal" || k == "user" || k == "workdir") {
    if (!rest.empty()) node->args = {std::string(rest)};
    return {};
  }
  if (k == "healthcheck") return healthConfig(rest, node);
  if (k == "onbuild") {
    if (rest.empty()) return {};
    HULL_ASSIGN_OR_RETURN(Node child, nodeFromLine(rest, escape));
    node->children.push_back(std::move(child));
    return {};
  }
  return {};  // unknown keywords are reported with their location when typed
}

}  // namespace

std::vector<std::string> parseWords(std::string_view rest, char escape) {
  std::vector<std::string> words;
  Phase phase = Phase::kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (std::size_t pos = 0; pos <= rest.size(); ++pos) {
    bool at_end = pos == rest.size();
    char ch = at_end ? 0 : rest[pos];
    if (phase == Phase::kSpaces) {
      if (at_end) break;
      if (isBlank(ch)) continue;
      phase = Phase::kWord;
    }
    if (at_end) {
      if (blank_ok || !word.empty()) words.push_back(std::move(word));
      break;
    }
    if (phase == Phase::kWord) {
      if (isBlank(ch)) {
        phase = Phase::kSpaces;
        if (blank_ok || !word.empty()) words.push_back(std::move(word));
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = Phase::kQuote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) continue;  // an escape at the end of the line is dropped
        // Unquoted, the escape and the next character are both kept, even a quote.
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote) phase = Phase::kWord;
    // Inside single quotes the escape character is ordinary.
    if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = Phase::kWord;
        continue;
      }
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  return words;
}

std::string_view extractBuilderFlags(std::string_view line, std::vector<std::string>* flags) {
  Phase phase = Phase::kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (std::size_t pos = 0; pos <= line.size(); ++pos) {
    bool at_end = pos == line.size();
    char ch = at_end ? 0 : line[pos];
    if (phase == Phase::kSpaces) {
      if (at_end) break;
      if (isBlank(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = Phase::kWord;
    }
    if (at_end) {
      if (word != "--" && (blank_ok || !word.empty())) flags->push_back(std::move(word));
      break;
    }
    if (phase == Phase::kWord) {
      if (isBlank(ch)) {
        phase = Phase::kSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) flags->push_back(std::move(word));
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = Phase::kQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size()) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote) {
      phase = Phase::kWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == line.size()) {
        phase = Phase::kWord;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return {};
}

Result<Node> nodeFromLine(std::string_view line, char escape) {
  Node node;
  node.original = std::string(line);
  std::string_view s = trim(line);
  std::size_t i = 0;
  while (i < s.size() && !isBlank(s[i])) ++i;
  node.keyword = std::string(s.substr(0, i));
  std::string_view rest = trim(s.substr(i));
  if (!rest.empty()) rest = trim(extractBuilderFlags(rest, &node.flags));
  HULL_TRY(splitArgs(rest, escape, &node));
  return node;
}

}  // namespace hull::dockerfile
