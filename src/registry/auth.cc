// Challenge and token parsing, Docker's config.json and its credential helpers.
#include "registry/auth.h"

#include <nettle/base64.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace hull::registry {
namespace {

constexpr std::size_t kMaxHeader = 16 << 10;

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A cursor over the header with the RFC 7230 lexical pieces the challenge grammar needs.
class HeaderLexer {
 public:
  explicit HeaderLexer(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  std::size_t pos() const { return pos_; }
  void reset(std::size_t pos) { pos_ = pos; }
  void skipSpace() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  void skipSeparators() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == ',')) ++pos_;
  }
  std::string_view token() {
    std::size_t start = pos_;
    while (!done() && isTokenChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // A quoted string (the opening quote is next); backslash escapes the following byte.
  Result<std::string> quoted() {
    std::string out;
    for (++pos_; !done(); ++pos_) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        if (++pos_ == s_.size()) break;
        c = s_[pos_];
      }
      out += c;
    }
    return fail(Errc::kInvalidArgument, "WWW-Authenticate: unterminated quoted string");
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// Reads "key=value" pairs into ch until the next challenge's scheme or the end.
Result<void> parseParams(HeaderLexer& lex, Challenge& ch) {
  while (true) {
    std::size_t start = lex.pos();
    lex.skipSeparators();
    if (lex.done()) return {};
    std::string_view key = lex.token();
    if (key.empty()) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("WWW-Authenticate: unexpected '{}'", lex.peek()));
    }
    lex.skipSpace();
    if (lex.peek() != '=') {  // a bare token: the next challenge's scheme
      lex.reset(start);
      return {};
    }
    lex.reset(lex.pos() + 1);
    lex.skipSpace();
    std::string value;
    if (lex.peek() == '"') {
      HULL_ASSIGN_OR_RETURN(value, lex.quoted());
    } else {
      // A token; leniently also an unquoted URL ("realm=https://host/token"), as some
      // registries send: everything up to the next separator.
      while (!lex.done() && lex.peek() != ',' && lex.peek() != ' ' && lex.peek() != '\t' &&
             lex.peek() != '"') {
        value += lex.peek();
        lex.reset(lex.pos() + 1);
      }
      if (value.empty()) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("WWW-Authenticate: parameter \"{}\" has no value", key));
      }
    }
    ch.params.emplace(lower(key), std::move(value));  // the first of duplicates wins
    lex.skipSpace();
    if (!lex.done() && lex.peek() != ',') {
      return fail(Errc::kInvalidArgument,
                  fmt::format("WWW-Authenticate: expected ',' after parameter \"{}\"", key));
    }
  }
}

}  // namespace

Result<std::vector<Challenge>> parseWwwAuthenticate(std::string_view header) {
  if (header.size() > kMaxHeader) {
    return fail(Errc::kInvalidArgument, "WWW-Authenticate: header too long");
  }
  for (char c : header) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return fail(Errc::kInvalidArgument, "WWW-Authenticate: control character in header");
    }
  }
  std::vector<Challenge> out;
  HeaderLexer lex(header);
  while (true) {
    lex.skipSeparators();
    if (lex.done()) break;
    std::string_view scheme = lex.token();
    if (scheme.empty()) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("WWW-Authenticate: expected a scheme, got '{}'", lex.peek()));
    }
    Challenge ch{.scheme = lower(scheme), .params = {}};
    HULL_TRY(parseParams(lex, ch));
    out.push_back(std::move(ch));
  }
  if (out.empty()) return fail(Errc::kInvalidArgument, "WWW-Authenticate: empty header");
  return out;
}

Result<Token> parseTokenResponse(std::string_view body) {
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(body, "token server response"));
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "token server response: not an object");
  Token t;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.token = it->get<std::string>();
      break;
    }
  }
  if (t.token.empty()) {
    return fail(Errc::kInvalidArgument, "token server response: no \"token\" or \"access_token\"");
  }
  if (auto it = j.find("expires_in"); it != j.end() && it->is_number_integer()) {
    t.expires_in = std::max<int64_t>(it->get<int64_t>(), 60);
  }
  return t;
}

std::string encodeBasicAuth(std::string_view user, std::string_view pass) {
  std::string plain = fmt::format("{}:{}", user, pass);
  std::string out(BASE64_ENCODE_RAW_LENGTH(plain.size()), '\0');
  base64_encode_raw(out.data(), plain.size(), reinterpret_cast<const uint8_t*>(plain.data()));
  return out;
}

Result<Credentials> decodeBasicAuth(std::string_view b64) {
  auto bad = [] { return fail(Errc::kInvalidArgument, "config.json: malformed \"auth\" value"); };
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > kMaxHeader) return bad();
  // Nettle's decoder skips white space; a stored value has none.
  auto alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
  };
  if (!std::all_of(b64.begin(), b64.end(), alphabet)) return bad();
  std::string out(BASE64_DECODE_LENGTH(b64.size()), '\0');
  std::size_t size = 0;
  base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  if (base64_decode_update(&ctx, &size, reinterpret_cast<uint8_t*>(out.data()), b64.size(),
                           b64.data()) == 0 ||
      base64_decode_final(&ctx) == 0) {
    return bad();
  }
  out.resize(size);
  std::size_t colon = out.find(':');
  if (colon == std::string::npos) return bad();
  return Credentials{
      .username = out.substr(0, colon), .password = out.substr(colon + 1), .identity_token = {}};
}

std::string configKey(std::string_view domain) {
  if (domain == "docker.io") return "https://index.docker.io/v1/";
  return std::string(domain);
}

fs::path dockerConfigDir() {
  if (const char* env = std::getenv("DOCKER_CONFIG"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/root") / ".docker";
}

}  // namespace hull::registry
