#include "engine/bootstrap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/json.h"
#include "test_util.h"

namespace hull::engine {
namespace {

TEST(AptSources, ParsesOneLineEntriesWithOptionsAndComments) {
  auto s = parseAptSources(
      "# a comment\n"
      "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
      "deb-src http://mirror.example/debian bookworm main\n"
      "deb http://security.debian.org/debian-security bookworm-security main # tail\n",
      false);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].uri, "http://mirror.example/debian");
  EXPECT_EQ(s[0].suites, std::vector<std::string>{"bookworm"});
  EXPECT_EQ(s[1].suites, std::vector<std::string>{"bookworm-security"});
}

TEST(AptSources, ParsesDeb822StanzasAndSkipsDisabledOnes) {
  auto s = parseAptSources(
      "Types: deb deb-src\n"
      "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
      "URIs: http://deb.debian.org/debian\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main\n"
      "\n"
      "Types: deb\n"
      "URIs: http://other.example/debian\n"
      "Suites: trixie\n"
      "Enabled: no\n"
      "\n"
      "Types: deb-src\n"
      "URIs: http://src.example/debian\n"
      "Suites: bookworm\n",
      true);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].uri, "http://deb.debian.org/debian");
  EXPECT_EQ(s[0].suites, (std::vector<std::string>{"bookworm", "bookworm-updates"}));
}

TEST(AptSources, ChoosesTheArchiveThatListsTheSuiteNeverSecurity) {
  std::vector<AptSource> sources = {
      {"http://security.debian.org/debian-security", {"bookworm"}},
      {"https://packages.example.com/apt", {"cloud-sdk"}},
      {"http://mirror.example/debian/", {"bookworm", "bookworm-updates"}},
  };
  EXPECT_EQ(chooseMirror(sources, "bookworm"), "http://mirror.example/debian/");
  // Another suite: an entry whose path names the Debian archive still serves it.
  EXPECT_EQ(chooseMirror(sources, "trixie"), "http://mirror.example/debian/");
  EXPECT_EQ(chooseMirror({{"https://packages.example.com/apt", {"stable"}}}, "bookworm"),
            kDefaultMirror);
  EXPECT_EQ(chooseMirror({}, "bookworm"), kDefaultMirror);
}

TEST(AptSources, ReadsTheDirectoryInNameOrderAndOnlyListAndSources) {
  fs::path dir = testing::freshTempDir("bootstrap-apt");
  ASSERT_TRUE(mkdirAll(dir / "sources.list.d"));
  ASSERT_TRUE(writeFileAtomic(dir / "sources.list.d/a.list.disabled",
                              "deb http://disabled.example/debian bookworm main\n"));
  ASSERT_TRUE(writeFileAtomic(dir / "sources.list.d/b.sources",
                              "Types: deb\nURIs: http://b.example/debian\nSuites: bookworm\n"));
  ASSERT_TRUE(writeFileAtomic(dir / "sources.list.d/c.list",
                              "deb http://c.example/debian bookworm main\n"));
  EXPECT_EQ(defaultMirror("bookworm", dir), "http://b.example/debian");
  EXPECT_EQ(defaultMirror("bookworm", dir / "missing"), kDefaultMirror);
  ASSERT_TRUE(removeAll(dir));
}

TEST(DpkgArch, MapsToOciPlatforms) {
  auto amd64 = platformOfDpkgArch("amd64");
  ASSERT_TRUE(amd64);
  EXPECT_EQ(amd64->architecture, "amd64");
  EXPECT_EQ(amd64->variant, "");
  auto armhf = platformOfDpkgArch("armhf");
  ASSERT_TRUE(armhf);
  EXPECT_EQ(armhf->architecture, "arm");
  EXPECT_EQ(armhf->variant, "v7");
  EXPECT_EQ(platformOfDpkgArch("ppc64el")->architecture, "ppc64le");
  EXPECT_EQ(platformOfDpkgArch("i386")->architecture, "386");
  EXPECT_FALSE(platformOfDpkgArch("x86_64"));
}

BootstrapOptions named(std::string name) {
  BootstrapOptions o;
  o.name = std::move(name);
  o.mirror = "http://mirror.example/debian";
  return o;
}

TEST(BootstrapOptions, RejectsBadInputBeforeAnythingRuns) {
  auto bad = [](BootstrapOptions o) { return resolveBootstrapOptions(std::move(o)); };
  EXPECT_FALSE(bad(named("UPPER:case")));
  auto o = named("base:1");
  o.suite = "book worm";
  EXPECT_FALSE(bad(o));
  o = named("base:1");
  o.variant = "custom";
  EXPECT_FALSE(bad(o));
  o = named("base:1");
  o.include = {"python3,;rm -rf"};
  EXPECT_FALSE(bad(o));
  o = named("base:1");
  o.mirror = "ftp://x/debian";
  EXPECT_FALSE(bad(o));
  o = named("base:1");
  o.mirror = "http://x/debian main contrib";
  EXPECT_FALSE(bad(o));
  o = named("base:1");
  o.architecture = "x86_64";
  EXPECT_FALSE(bad(o));
  o = named("base:1");
  o.source_date_epoch = -1;
  EXPECT_FALSE(bad(o));
}

TEST(BootstrapOptions, BuildsMmdebstrapArgumentsAndHistory) {
  auto o = named("ml/base:v1");
  o.include = {"python3,python3-pip", "curl=7.88.1-10+deb12u5", "libc6:amd64"};
  o.components = {"main,contrib"};
  o.source_date_epoch = 1700000000;
  auto r = resolveBootstrapOptions(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "ml/base:v1");
  EXPECT_EQ(
      mmdebstrapArgs(*r),
      (std::vector<std::string>{"--variant=apt", "--format=tar", "--components=main,contrib",
                                "--include=python3,python3-pip,curl=7.88.1-10+deb12u5,libc6:amd64",
                                "bookworm", "-", "http://mirror.example/debian"}));
  EXPECT_EQ(bootstrapCreatedBy(*r),
            "hull bootstrap --suite bookworm --variant apt --include "
            "python3,python3-pip,curl=7.88.1-10+deb12u5,libc6:amd64 --components main,contrib");
}

TEST(BootstrapOptions, TakesTheEpochFromTheEnvironmentUnlessGiven) {
  const char* outer = std::getenv("SOURCE_DATE_EPOCH");
  std::optional<std::string> saved;
  if (outer != nullptr) saved = outer;
  ::setenv("SOURCE_DATE_EPOCH", "1234", 1);
  auto from_env = resolveBootstrapOptions(named("base"));
  auto o = named("base");
  o.source_date_epoch = 99;
  auto from_flag = resolveBootstrapOptions(o);
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(from_env);
  EXPECT_EQ(from_env->source_date_epoch, 1234);
  ASSERT_TRUE(from_flag);
  EXPECT_EQ(from_flag->source_date_epoch, 99);
  EXPECT_FALSE(resolveBootstrapOptions(named("base"))->source_date_epoch);
  if (saved) ::setenv("SOURCE_DATE_EPOCH", saved->c_str(), 1);
}

TEST(BootstrapConfig, HasPathBashTheEpochAndOneHistoryEntry) {
  auto o = named("base");
  o.source_date_epoch = 1700000000;
  o.architecture = "arm64";
  auto r = resolveBootstrapOptions(o);
  ASSERT_TRUE(r);
  auto c = bootstrapConfig(*r, Digest::ofBytes("layer"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->created, "2023-11-14T22:13:20Z");
  EXPECT_EQ(c->architecture, "arm64");
  EXPECT_EQ(c->variant, "v8");
  EXPECT_EQ(c->config.cmd, (std::vector<std::string>{"bash"}));
  ASSERT_EQ(c->config.env.size(), 1u);
  EXPECT_TRUE(c->config.env[0].starts_with("PATH=/usr/local/sbin:"));
  EXPECT_EQ(c->config.labels["org.opencontainers.image.created"], c->created);
  ASSERT_EQ(c->history.size(), 1u);
  EXPECT_EQ(c->history[0].created, c->created);
  EXPECT_EQ(c->history[0].created_by,
            "hull bootstrap --suite bookworm --variant apt --architecture arm64");
}

// bootstrapImage against a stand-in for mmdebstrap: a script that writes a tar (or fails the way
// mmdebstrap does), so that the pipes, the error line and the all-or-nothing store are tested
// without the network.
class BootstrapImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::freshTempDir("bootstrap-image");
    ASSERT_TRUE(mkdirAll(dir_));
    testing::makeRootfsTar(dir_, "debian_version", 5);
    auto s = store::Store::open(dir_ / "root");
    ASSERT_TRUE(s);
    store_.emplace(std::move(*s));
  }
  void TearDown() override { ASSERT_TRUE(removeAll(dir_)); }

  BootstrapOptions withScript(const std::string& body) {
    fs::path script = dir_ / "fake-mmdebstrap";
    EXPECT_TRUE(writeFileAtomic(script, "#!/bin/sh\n" + body, 0755));
    auto o = named("deb:test");
    o.program = script.string();
    return o;
  }

  fs::path dir_;
  std::optional<store::Store> store_;
};

TEST_F(BootstrapImageTest, StoresTheTarAsOneLayerImage) {
  auto o = withScript(
      "echo 'I: running apt-get update...' >&2\n"
      "echo 'I: using /tmp/x as tempdir' >&2\n"
      "cat '" +
      (dir_ / "rootfs.tar").string() + "'\n");
  o.source_date_epoch = 1700000000;
  std::vector<std::string> lines;
  auto r = bootstrapImage(*store_, o, [&lines](std::string_view l) { lines.emplace_back(l); });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "deb:test");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "running apt-get update..."), lines.end());
  for (const auto& l : lines) EXPECT_EQ(l.find("tempdir"), std::string::npos) << l;
  auto found = store_->find("deb:test");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->manifest.digest, r->manifest.digest);
  auto config = store_->readBlob(r->id);
  ASSERT_TRUE(config);
  auto parsed = oci::parseImageConfig(*config);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->created, "2023-11-14T22:13:20Z");
  EXPECT_EQ(parsed->diff_ids.size(), 1u);
  // The same tar and epoch give the same image.
  auto again = bootstrapImage(*store_, o, nullptr);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->manifest.digest, r->manifest.digest);
}

TEST_F(BootstrapImageTest, AFailingRunLeavesTheStoreUnchangedWithOneClearLine) {
  auto o = withScript(
      "echo 'E: The repository http://x nosuch Release does not have a Release file.' >&2\n"
      "echo 'E: mmdebstrap failed to run' >&2\nexit 25\n");
  auto r = bootstrapImage(*store_, o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not have a Release file"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  EXPECT_TRUE(store_->images()->empty());
}

TEST_F(BootstrapImageTest, ATarCutShortByAFailureIsNotCommitted) {
  auto o = withScript("head -c 3000 '" + (dir_ / "rootfs.tar").string() +
                      "'\necho 'E: tar failed' >&2\nexit 1\n");
  auto r = bootstrapImage(*store_, o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("tar failed"), std::string::npos) << r.error().message;
  EXPECT_TRUE(store_->images()->empty());
}

TEST_F(BootstrapImageTest, AHostileTarStopsTheChild) {
  // A tar whose entry escapes the root, followed by output that would fill the pipe forever.
  auto o = withScript(
      "python3 -c 'import io,sys,tarfile\n"
      "t=tarfile.open(fileobj=sys.stdout.buffer,mode=\"w|\")\n"
      "i=tarfile.TarInfo(\"../escape\");i.size=1\n"
      "t.addfile(i,io.BytesIO(b\"x\"))\n"
      "sys.stdout.flush()'\nexec yes\n");
  auto r = bootstrapImage(*store_, o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_TRUE(store_->images()->empty());
}

TEST_F(BootstrapImageTest, AMissingProgramSaysHowToInstallIt) {
  auto o = named("deb:test");
  o.program = "hull-no-such-mmdebstrap";
  auto r = bootstrapImage(*store_, o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
  EXPECT_NE(r.error().message.find("apt-get install mmdebstrap"), std::string::npos);
}

}  // namespace
}  // namespace hull::engine
