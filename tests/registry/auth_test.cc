#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry/auth.h"

namespace hull::registry {
namespace {

TEST(WwwAuthenticate, Bearer) {
  auto r = parseWwwAuthenticate(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",)"
      R"(scope="repository:ml/serve:pull,push")");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].scheme, "bearer");
  EXPECT_EQ((*r)[0].params.at("realm"), "https://auth.example.com/token");
  EXPECT_EQ((*r)[0].params.at("service"), "registry.example.com");
  EXPECT_EQ((*r)[0].params.at("scope"), "repository:ml/serve:pull,push");
}

TEST(WwwAuthenticate, BasicAndCase) {
  auto r = parseWwwAuthenticate(R"(BASIC Realm="Registry Realm")");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].scheme, "basic");
  EXPECT_EQ((*r)[0].params.at("realm"), "Registry Realm");
}

TEST(WwwAuthenticate, SeveralChallengesTokensAndEscapes) {
  auto r = parseWwwAuthenticate(
      R"(Basic realm="a\"b\\c" , Bearer realm=https://x/token, service = svc ,error="insufficient_scope")");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].params.at("realm"), R"(a"b\c)");
  EXPECT_EQ((*r)[1].scheme, "bearer");
  EXPECT_EQ((*r)[1].params.at("realm"), "https://x/token");
  EXPECT_EQ((*r)[1].params.at("service"), "svc");
  EXPECT_EQ((*r)[1].params.at("error"), "insufficient_scope");
}

TEST(WwwAuthenticate, SchemeWithoutParamsAndDuplicates) {
  auto r = parseWwwAuthenticate("Negotiate, Bearer realm=\"r1\", realm=\"r2\"");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].scheme, "negotiate");
  EXPECT_TRUE((*r)[0].params.empty());
  EXPECT_EQ((*r)[1].params.at("realm"), "r1");  // the first wins
}

TEST(WwwAuthenticate, RejectsHostileInput) {
  const std::vector<std::string> bad = {
      "",
      "   ",
      "Bearer realm=\"unterminated",
      "Bearer realm=\"x\\",
      "Bearer realm=\"x\" junk",
      "Bearer realm=\"x\"\x01",
      "Bearer realm=\"a\nb\"",
      "=x",
      "Bearer realm=\"x\", @",
      "Bearer " + std::string(20000, 'a'),
      std::string("Bearer realm=\"a\0b\"", 19),
  };
  for (const auto& in : bad) {
    auto r = parseWwwAuthenticate(in);
    EXPECT_FALSE(r) << in;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
}

TEST(TokenResponse, TokenOrAccessToken) {
  auto t = parseTokenResponse(R"({"token":"abc","expires_in":300})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc");
  EXPECT_EQ(t->expires_in, 300);
  t = parseTokenResponse(R"({"access_token":"xyz"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "xyz");
  EXPECT_EQ(t->expires_in, 60);
  t = parseTokenResponse(R"({"token":"","access_token":"b"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "b");
  EXPECT_FALSE(parseTokenResponse(R"({"tok":"abc"})"));
  EXPECT_FALSE(parseTokenResponse(R"(["abc"])"));
  EXPECT_FALSE(parseTokenResponse("<html>"));
  EXPECT_FALSE(parseTokenResponse(R"({"token":5})"));
}

TEST(BasicAuth, RoundTrip) {
  EXPECT_EQ(encodeBasicAuth("user", "pass"), "dXNlcjpwYXNz");
  for (std::string pass : {"p", "pa", "pas", "pass:with:colons", ""}) {
    auto c = decodeBasicAuth(encodeBasicAuth("u", pass));
    ASSERT_TRUE(c) << pass;
    EXPECT_EQ(c->username, "u");
    EXPECT_EQ(c->password, pass);
  }
  EXPECT_FALSE(decodeBasicAuth("!!!!"));
  EXPECT_FALSE(decodeBasicAuth("abc"));
  EXPECT_FALSE(decodeBasicAuth(encodeBasicAuth("", "").substr(0, 0)));
  EXPECT_FALSE(decodeBasicAuth("dXNlcg=="));  // "user": no colon
  // Padding where it cannot be, white space, a binary byte: refused, never half-decoded.
  for (std::string_view bad : {"dX=lcjpwYXNz", "=XNlcjpwYXNz", "dXNlcjpwYXN=z", "dXNl cjpwYXN",
                               "dXNlcjpwYX\nz", "dXNlcjpw\x01XNz", "dXNlcjpwYXNz===="}) {
    EXPECT_FALSE(decodeBasicAuth(bad)) << bad;
  }
  auto utf8 = decodeBasicAuth(encodeBasicAuth("\xc3\xa9t\xc3\xa9", std::string("\xff\x00x", 3)));
  ASSERT_TRUE(utf8);
  EXPECT_EQ(utf8->username, "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(utf8->password, std::string("\xff\x00x", 3));
}

}  // namespace
}  // namespace hull::registry
