#include "engine/format.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <fmt/format.h>

namespace hull::engine {

std::string humanSize(double bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  std::size_t unit = 0;
  while (bytes >= 1000.0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1000.0;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", 3, bytes, kUnits[unit]);
  return buf;
}

std::string humanDuration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = (seconds + 1800) / 3600;  // Go's Duration.Round(time.Hour)
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", seconds / 3600 / 24 / 365);
}

namespace {

bool readDigits(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || (s[0] != c && !(c == 'T' && (s[0] == 't' || s[0] == ' ')))) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<int64_t> parseTimestamp(std::string_view s) {
  std::tm tm{};
  int year, month, day, hour, minute, second;
  if (!readDigits(s, 4, year) || !expect(s, '-') || !readDigits(s, 2, month) || !expect(s, '-') ||
      !readDigits(s, 2, day) || !expect(s, 'T') || !readDigits(s, 2, hour) || !expect(s, ':') ||
      !readDigits(s, 2, minute) || !expect(s, ':') || !readDigits(s, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    std::size_t n = 0;
    while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
    if (n == 0) return std::nullopt;
    s.remove_prefix(n);
  }
  int64_t offset = 0;
  if (s == "Z" || s == "z") {
    s = {};
  } else if (s.size() == 6 && (s[0] == '+' || s[0] == '-')) {
    int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!readDigits(s, 2, oh) || !expect(s, ':') || !readDigits(s, 2, om)) return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(::timegm(&tm)) - offset;
}

std::string createdSince(std::string_view created, int64_t now) {
  auto t = parseTimestamp(created);
  if (!t) return "N/A";
  return humanDuration(now - *t) + " ago";
}

Result<int64_t> buildTime() {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr || *epoch == '\0') return static_cast<int64_t>(std::time(nullptr));
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(epoch, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("SOURCE_DATE_EPOCH={}: not a number of seconds", epoch));
  }
  return static_cast<int64_t>(v);
}

// --- templates ---

namespace {

std::string goString(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "<nil>";
  if (v.is_boolean() || v.is_number()) return v.dump();
  std::string out = v.is_array() ? "[" : "map[";
  bool first = true;
  for (const auto& [k, e] : v.items()) {
    if (!first) out += ' ';
    first = false;
    if (v.is_object()) out += k + ":";
    out += goString(e);
  }
  return out + "]";
}

std::vector<std::string> splitWords(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    std::size_t start = i;
    if (s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') ++i;
      ++i;
    } else {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    }
    out.emplace_back(s.substr(start, std::min(i, s.size()) - start));
  }
  return out;
}

// Resolves ".A.B" against data; nullptr when a field is missing.
Result<const Json*> resolvePath(std::string_view path, const Json& data) {
  if (path.empty() || path[0] != '.') {
    return fail(Errc::kInvalidArgument, fmt::format("template: unsupported argument \"{}\"", path));
  }
  const Json* cur = &data;
  path.remove_prefix(1);
  while (!path.empty()) {
    std::size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
  }
  return cur;
}

Result<std::string> renderAction(std::string_view action, const Json& data) {
  std::vector<std::string> words = splitWords(action);
  if (words.empty()) return fail(Errc::kInvalidArgument, "template: empty action {{}}");
  if (words[0] == "json" && words.size() == 2) {
    HULL_ASSIGN_OR_RETURN(const Json* v, resolvePath(words[1], data));
    return v == nullptr ? std::string("null") : v->dump();
  }
  if (words[0] == "index" && words.size() == 3 && words[2].size() >= 2 && words[2][0] == '"') {
    HULL_ASSIGN_OR_RETURN(const Json* v, resolvePath(words[1], data));
    std::string key = words[2].substr(1, words[2].size() - 2);
    if (v == nullptr || !v->is_object() || !v->contains(key)) return std::string("<no value>");
    return goString((*v)[key]);
  }
  if (words.size() != 1) {
    return fail(Errc::kInvalidArgument,
                fmt::format("template: unsupported action \"{{{{{}}}}}\"", action));
  }
  HULL_ASSIGN_OR_RETURN(const Json* v, resolvePath(words[0], data));
  return v == nullptr ? std::string("<no value>") : goString(*v);
}

}  // namespace

Result<std::string> renderTemplate(std::string_view raw, const Json& data) {
  // Like Docker's formatter, "\t" and "\n" in the template stand for a tab and a newline.
  std::string unescaped;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == 't' || raw[i + 1] == 'n')) {
      unescaped += raw[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      unescaped += raw[i];
    }
  }
  std::string_view tmpl = unescaped;
  std::string out;
  while (!tmpl.empty()) {
    std::size_t open = tmpl.find("{{");
    if (open == std::string_view::npos) {
      out += tmpl;
      break;
    }
    out += tmpl.substr(0, open);
    std::size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return fail(Errc::kInvalidArgument, "template: unclosed action \"{{\"");
    }
    HULL_ASSIGN_OR_RETURN(std::string text,
                          renderAction(tmpl.substr(open + 2, close - open - 2), data));
    out += text;
    tmpl.remove_prefix(close + 2);
  }
  return out;
}

}  // namespace hull::engine

namespace hull::engine {
namespace {

std::size_t displayWidth(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string renderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], std::max<std::size_t>(displayWidth(row[i]) + 3, 10));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - displayWidth(row[i]), ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string ellipsis(std::string_view text, std::size_t width) {
  if (displayWidth(text) <= width || width == 0) return std::string(text);
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (chars == width - 1) break;
      ++chars;
    }
    out += text[i];
  }
  return out + "…";
}

}  // namespace hull::engine
