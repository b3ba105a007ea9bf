// build() over a fake executor: stages, cache reuse, history, failures, cancel, ONBUILD.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "build/build.h"
#include "fake_executor.h"
#include "oci/media_types.h"

namespace hull::build {
namespace {

class Progressed : public Progress {
 public:
  void stepCached(const StepEvent& e) override {
    std::lock_guard lock(mu);
    cached.push_back(e.text);
  }
  void warning(const std::string& w) override {
    std::lock_guard lock(mu);
    warnings.push_back(w);
  }
  std::mutex mu;
  std::vector<std::string> cached, warnings;
};

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hull-builder-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(mkdirAll(dir_ / "ctx"));
    auto s = store::Store::open(dir_ / "store");
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    exec_ = std::make_unique<testing::FakeExecutor>(*store_);
    images_ = [this](std::string_view ref) -> Result<BaseImage> {
      auto it = bases_.find(std::string(ref));
      if (it == bases_.end()) return fail(Errc::kNotFound, "no image " + std::string(ref));
      return it->second;
    };
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Result<BuildResult> run(const std::string& dockerfile, BuildOptions o = {},
                          const std::atomic<bool>* cancel = nullptr) {
    o.context = dir_ / "ctx";
    o.dockerfile = dockerfile;
    return build(*store_, *exec_, images_, o, &progress_, cancel);
  }

  fs::path dir_;
  std::optional<store::Store> store_;
  std::unique_ptr<testing::FakeExecutor> exec_;
  std::map<std::string, BaseImage> bases_;
  ImageResolver images_;
  Progressed progress_;
};

constexpr const char* kMultiStage =
    "FROM scratch AS a\n"
    "RUN touch a.txt\n"
    "FROM scratch AS unused\n"
    "RUN false\n"
    "FROM scratch\n"
    "WORKDIR app\n"
    "COPY --from=a /a.txt ./\n"
    "ENV X=1\n"
    "RUN touch b\n"
    "RUN echo nothing\n"
    "CMD [\"run\"]\n";

TEST_F(BuilderTest, MultiStageHistoryAndCache) {
  auto r = run(kMultiStage);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(exec_->commands(),
            (std::vector<std::string>{"touch a.txt", "touch b", "echo nothing"}));
  const auto& c = r->image.config;
  EXPECT_EQ(c.config.working_dir, "/app");
  EXPECT_EQ(*c.config.cmd, std::vector<std::string>{"run"});
  ASSERT_EQ(r->image.layers.size(), 3u);  // WORKDIR's mkdir, COPY, touch b
  ASSERT_EQ(c.history.size(), 6u);
  EXPECT_EQ(c.history[0].created_by, "WORKDIR /app");
  EXPECT_FALSE(c.history[0].empty_layer);
  EXPECT_EQ(c.history[1].created_by, "COPY /a.txt ./ # buildkit");
  EXPECT_EQ(c.history[2].created_by, "ENV X=1");
  EXPECT_TRUE(c.history[2].empty_layer);
  EXPECT_EQ(c.history[3].created_by, "RUN /bin/sh -c touch b # buildkit");
  EXPECT_TRUE(c.history[4].empty_layer) << "a RUN that changes nothing makes no layer";
  EXPECT_EQ(c.history[5].created_by, "CMD [\"run\"]");
  EXPECT_EQ(c.history[5].comment, "buildkit.dockerfile.v0");
  EXPECT_EQ(c.diff_ids.size(), 3u);
  EXPECT_EQ(r->steps, 9);
  EXPECT_EQ(r->cached, 0);
  // The manifest and config are in the store.
  auto m = store_->manifest(r->manifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->config.digest, r->config_digest);
  EXPECT_EQ(m->layers.size(), 3u);

  // Again: every layer step comes from the cache, the image is the same.
  int commits = exec_->commits;
  auto again = run(kMultiStage);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(exec_->commits, commits);
  EXPECT_EQ(again->cached, 7) << "every step but the FROMs";
  EXPECT_EQ(again->image.layers, r->image.layers);

  // --no-cache runs everything again.
  BuildOptions o;
  o.no_cache = true;
  auto fresh = run(kMultiStage, o);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->cached, 0);
  EXPECT_EQ(exec_->commands().size(), 6u);
}

TEST_F(BuilderTest, ABuildArgReRunsOnlyTheStepsThatUseIt) {
  const std::string text = "FROM scratch\nRUN touch a\nARG V=1\nRUN touch b\nRUN touch c$V\n";
  ASSERT_TRUE(run(text));
  BuildOptions o;
  o.build_args["V"] = "2";
  auto r = run(text, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(progress_.cached, (std::vector<std::string>{"RUN touch a", "ARG V=1", "RUN touch b"}));
  EXPECT_EQ(r->cached, 3);
  EXPECT_EQ(exec_->commands().back(), "touch c$V");
  EXPECT_EQ(exec_->requests.back().env.back(), "V=2") << "ARGs in scope are in the RUN env";
  EXPECT_EQ(r->image.config.history.back().created_by,
            "RUN |1 V=2 /bin/sh -c touch c$V # buildkit");
}

TEST_F(BuilderTest, FailingRunKeepsNothingOfItsStep) {
  auto r = run("FROM scratch\nRUN touch a\nRUN false\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Dockerfile:3: process \"/bin/sh -c false\" did not complete successfully: exit "
            "code: 1\n  one\n  two");
  int commits = exec_->commits;
  EXPECT_EQ(commits, 1);
  auto again = run("FROM scratch\nRUN touch a\nRUN false\n");
  ASSERT_FALSE(again);
  EXPECT_EQ(exec_->commits, commits);
  EXPECT_EQ(progress_.cached, std::vector<std::string>{"RUN touch a"});
}

TEST_F(BuilderTest, CancelStopsTheRunningStep) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  auto r = run("FROM scratch\nRUN wait-cancel\nRUN touch never\n", {}, &cancel);
  t.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCancelled);
  EXPECT_EQ(exec_->commits, 0);
}

TEST_F(BuilderTest, FailureInOneStageCancelsTheOther) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "sanitized builds run one stage at a time (builder.cc)";
#endif
  auto r =
      run("FROM scratch AS a\nRUN wait-cancel\nFROM scratch AS b\nRUN false\n"
          "FROM scratch\nCOPY --from=a / /\nCOPY --from=b / /\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Dockerfile:4: process"), std::string::npos)
      << r.error().message;
}

TEST_F(BuilderTest, WorkdirStaysInsideTheRootAndBelongsToUser) {
  auto r = run("FROM scratch\nRUN ln -s /etc app\nUSER 1234:5678\nWORKDIR /app/hull-wd-test\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists("/etc/hull-wd-test"));
  ASSERT_EQ(r->image.layers.size(), 2u);
  // Unpack the WORKDIR layer: the directory is under the root's etc/, owned by USER.
  auto m = exec_->mount(r->image.layers);
  ASSERT_TRUE(m);
  struct stat st;
  ASSERT_EQ(::lstat(((*m)->root() / "etc/hull-wd-test").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
  }
  EXPECT_EQ(r->image.config.history.back().created_by, "WORKDIR /app/hull-wd-test");
}

TEST_F(BuilderTest, SourceDateEpochAndLabels) {
  BuildOptions o;
  o.source_date_epoch = 10;
  o.labels["org.example"] = "x";
  auto r = run("FROM scratch\nRUN touch a\n", o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->image.config.created, "1970-01-01T00:00:10Z");
  EXPECT_EQ(r->image.config.history[0].created, "1970-01-01T00:00:10Z");
  EXPECT_EQ(r->image.config.config.labels.at("org.example"), "x");
}

TEST_F(BuilderTest, OnbuildTriggersRunInChildBuilds) {
  auto parent = run("FROM scratch\nENV HOME=/root\nONBUILD RUN touch trig\nRUN touch p\n");
  ASSERT_TRUE(parent) << parent.error().message;
  EXPECT_EQ(parent->image.config.config.on_build, std::vector<std::string>{"RUN touch trig"});
  bases_["parent"] = BaseImage{"parent", parent->manifest, parent->image};
  auto child = run("FROM parent\nRUN touch c\n");
  ASSERT_TRUE(child) << child.error().message;
  auto cmds = exec_->commands();
  ASSERT_GE(cmds.size(), 2u);
  EXPECT_EQ(cmds[cmds.size() - 2], "touch trig");
  EXPECT_EQ(cmds.back(), "touch c");
  EXPECT_TRUE(child->image.config.config.on_build.empty());
}

TEST_F(BuilderTest, BadInput) {
  auto r = run("FROM missing\nRUN true\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Dockerfile:1"), std::string::npos) << r.error().message;
  BuildOptions o;
  o.target = "nope";
  auto t = run("FROM scratch AS a\n", o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kNotFound);
  auto c = run("FROM scratch\nCOPY missing.txt /\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message.rfind("Dockerfile:2: ", 0), 0u) << c.error().message;
}

TEST_F(BuilderTest, ChecksAreWarnings) {
  auto r = run("FROM scratch AS Build\nCMD run me\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(progress_.warnings, r->warnings);
}

}  // namespace
}  // namespace hull::build
