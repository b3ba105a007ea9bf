#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "registry/auth.h"

namespace hull::registry {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hull-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(dir_ / "config.json") << text; }
  fs::path dir_;
};

TEST_F(ConfigTest, MissingFileIsEmpty) {
  auto c = DockerConfig::load(dir_ / "nope");
  ASSERT_TRUE(c);
  auto creds = c->get("localhost:5000");
  ASSERT_TRUE(creds);
  EXPECT_FALSE(creds->has_value());
}

TEST_F(ConfigTest, ReadsInlineAuthsUnderAnySpelling) {
  write(R"({"auths":{
    "https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="},
    "http://localhost:5000":{"auth":"dXNlcjpwYXNz"},
    "reg.example.com":{"username":"u2","password":"p2"},
    "tok.example.com":{"auth":"","identitytoken":"refresh"}}})");
  auto c = DockerConfig::load(dir_);
  ASSERT_TRUE(c) << c.error().message;
  auto hub = c->get("docker.io");
  ASSERT_TRUE(hub && hub->has_value());
  EXPECT_EQ((*hub)->username, "hub");
  EXPECT_EQ((*hub)->password, "secret");
  auto local = c->get("localhost:5000");
  ASSERT_TRUE(local && local->has_value());
  EXPECT_EQ((*local)->username, "user");
  EXPECT_EQ((*local)->password, "pass");
  auto plain = c->get("reg.example.com");
  ASSERT_TRUE(plain && plain->has_value());
  EXPECT_EQ((*plain)->username, "u2");
  auto tok = c->get("tok.example.com");
  ASSERT_TRUE(tok && tok->has_value());
  EXPECT_EQ((*tok)->identity_token, "refresh");
  auto none = c->get("other:5000");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(ConfigTest, RejectsMalformed) {
  write("{not json");
  EXPECT_FALSE(DockerConfig::load(dir_));
  write(R"({"auths":{"localhost:5000":{"auth":"%%%%"}}})");
  auto c = DockerConfig::load(dir_);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->get("localhost:5000"));
}

TEST_F(ConfigTest, StoreKeepsUnknownKeysAndWritesPrivately) {
  write(R"({"psFormat":"table {{.ID}}","auths":{"http://localhost:5000/":{"auth":"b2xkOm9sZA=="},
           "other:1":{"auth":"dXNlcjpwYXNz","email":"x@y"}},"experimental":"enabled"})");
  auto c = DockerConfig::load(dir_);
  ASSERT_TRUE(c);
  ASSERT_TRUE(
      c->store("localhost:5000", {.username = "new", .password = "pw", .identity_token = {}}));
  ASSERT_TRUE(c->save());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = DockerConfig::load(dir_);
  ASSERT_TRUE(again);
  const auto& j = again->json();
  EXPECT_EQ(j["psFormat"], "table {{.ID}}");
  EXPECT_EQ(j["experimental"], "enabled");
  EXPECT_EQ(j["auths"]["other:1"]["email"], "x@y");
  EXPECT_FALSE(j["auths"].contains("http://localhost:5000/"));
  EXPECT_EQ(j["auths"]["localhost:5000"]["auth"], encodeBasicAuth("new", "pw"));
  auto creds = again->get("localhost:5000");
  ASSERT_TRUE(creds && creds->has_value());
  EXPECT_EQ((*creds)->username, "new");

  ASSERT_TRUE(again->erase("localhost:5000"));
  auto gone = again->erase("localhost:5000");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::kNotFound);
  EXPECT_TRUE(again->json()["auths"].contains("other:1"));
}

TEST_F(ConfigTest, DockerHubKey) {
  EXPECT_EQ(configKey("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(configKey("localhost:5000"), "localhost:5000");
}

// A credential helper is a program on PATH; this one keeps its store in a file.
TEST_F(ConfigTest, CredentialHelpers) {
  fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  fs::path script = bin / "docker-credential-hulltest";
  std::ofstream(script) << "#!/bin/sh\n"
                           "db=\"$(dirname \"$0\")/db\"\n"
                           "case \"$1\" in\n"
                           "get) read -r url; if [ -f \"$db\" ]; then cat \"$db\"; else\n"
                           "     echo 'credentials not found in native keychain'; exit 1; fi ;;\n"
                           "store) cat > \"$db\" ;;\n"
                           "erase) read -r url; [ -f \"$db\" ] || { echo 'credentials not found "
                           "in native keychain'; exit 1; }; rm -f \"$db\" ;;\n"
                           "esac\n";
  fs::permissions(script, fs::perms::owner_all);
  std::string path = bin.string() + ":" + std::getenv("PATH");
  ::setenv("PATH", path.c_str(), 1);
  auto c = DockerConfig::fromJson(
      OrderedJson::parse(R"({"credHelpers":{"localhost:5000":"hulltest"}})"), dir_);
  EXPECT_EQ(c.helperFor("localhost:5000"), "hulltest");
  EXPECT_EQ(c.helperFor("other:1"), "");
  auto none = c.get("localhost:5000");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(c.store("localhost:5000", {.username = "u", .password = "s", .identity_token = {}}));
  auto got = c.get("localhost:5000");
  ASSERT_TRUE(got && got->has_value()) << (got ? "" : got.error().message);
  EXPECT_EQ((*got)->username, "u");
  EXPECT_EQ((*got)->password, "s");
  EXPECT_FALSE(c.json().contains("auths"));  // nothing inline
  ASSERT_TRUE(c.erase("localhost:5000"));
  EXPECT_FALSE(c.erase("localhost:5000"));

  auto store = DockerConfig::fromJson(OrderedJson::parse(R"({"credsStore":"absent-helper"})"));
  auto r = store.get("localhost:5000");
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace hull::registry
