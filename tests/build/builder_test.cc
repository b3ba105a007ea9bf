// The builder's pure rules: config changes, history texts, RUN argv/env, triggers, stage order.
#include <gtest/gtest.h>

#include "build/builder_internal.h"
#include "dockerfile/dockerfile.h"

namespace hull::build::detail {
namespace {

// The instructions of the last stage of `text`, FROM an image whose Env is `base_env`.
std::vector<dockerfile::Instruction> parseStage(const std::string& text,
                                                std::vector<std::string> base_env = {},
                                                std::map<std::string, std::string> args = {}) {
  dockerfile::ParseOptions opt;
  opt.build_args = std::move(args);
  opt.base_image_env = [base_env](const std::string&) -> Result<std::vector<std::string>> {
    return base_env;
  };
  auto df = dockerfile::parse(text, opt);
  EXPECT_TRUE(df) << (df ? "" : df.error().message);
  if (!df) return {};
  return df->stages.back().instructions;
}

// Applies every instruction of `text` to `config`; returns the history texts.
std::vector<std::string> applyAll(const std::string& text, oci::ImageConfig& config,
                                  StageVars& vars) {
  std::vector<std::string> out;
  for (const auto& ins : parseStage(text, config.config.env)) {
    out.push_back(applyConfig(ins, config, vars));
  }
  return out;
}

TEST(GoFormat, QuoteAndLists) {
  EXPECT_EQ(goQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(goQuote(std::string("\x01", 1)), "\"\\x01\"");
  EXPECT_EQ(goQuoteList({"/bin/sh", "-c", "echo hi"}), "[\"/bin/sh\" \"-c\" \"echo hi\"]");
  EXPECT_EQ(goList({"/bin/bash", "-c"}), "[/bin/bash -c]");
  EXPECT_EQ(goList({}), "[]");
}

TEST(GoFormat, Duration) {
  EXPECT_EQ(goDuration(0), "0s");
  EXPECT_EQ(goDuration(30'000'000'000), "30s");
  EXPECT_EQ(goDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(goDuration(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(goDuration(500'000'000), "500ms");
  EXPECT_EQ(goDuration(1'500'000'000), "1.5s");
}

TEST(Config, DefaultPathFirstWhenMissing) {
  std::vector<std::string> env{"A=1"};
  ensurePath(env);
  EXPECT_EQ(env, (std::vector<std::string>{std::string(kDefaultPath), "A=1"}));
  std::vector<std::string> own{"A=1", "PATH=/x"};
  ensurePath(own);
  EXPECT_EQ(own, (std::vector<std::string>{"A=1", "PATH=/x"}));
}

TEST(Workdir, RelativeToPrevious) {
  EXPECT_EQ(resolveWorkdir("", "app"), "/app");
  EXPECT_EQ(resolveWorkdir("/app", "src"), "/app/src");
  EXPECT_EQ(resolveWorkdir("/app", "/opt//x/"), "/opt/x");
  EXPECT_EQ(resolveWorkdir("/a/b", "../c"), "/a/c");
  EXPECT_EQ(resolveWorkdir("/", "."), "/");
}

TEST(Config, EnvReplacesInPlaceAndHistory) {
  oci::ImageConfig c = scratchConfig();
  StageVars vars;
  auto h = applyAll("FROM base\nENV A=1 B=two\nENV PATH=/opt/bin:$PATH\nENV A=3\n", c, vars);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], "ENV A=1 B=two");
  EXPECT_EQ(h[1], "ENV PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(c.config.env,
            (std::vector<std::string>{
                "PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=3",
                "B=two"}));
}

TEST(Config, CmdEntrypointShellForms) {
  oci::ImageConfig c;
  c.config.cmd = std::vector<std::string>{"sh"};
  StageVars vars;
  auto h = applyAll("FROM base\nENTRYPOINT [\"/app\"]\n", c, vars);
  EXPECT_FALSE(c.config.cmd) << "ENTRYPOINT drops the base image's CMD";
  EXPECT_EQ(h[0], "ENTRYPOINT [\"/app\"]");

  oci::ImageConfig d;
  StageVars v2;
  h = applyAll("FROM base\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo hi\nENTRYPOINT run me\n", d, v2);
  EXPECT_EQ(h[0], "SHELL [/bin/bash -c]");
  EXPECT_EQ(h[1], "CMD [\"/bin/bash\" \"-c\" \"echo hi\"]");
  ASSERT_TRUE(d.config.cmd) << "CMD of this stage stays";
  EXPECT_EQ(*d.config.entrypoint, (std::vector<std::string>{"/bin/bash", "-c", "run me"}));
}

TEST(Config, ExposeVolumeLabelUserStopsignalHealthcheck) {
  oci::ImageConfig c;
  StageVars vars;
  auto h = applyAll(
      "FROM base\nEXPOSE 80 443/tcp 53/udp\nVOLUME /data /cache\nLABEL a=b \"c d\"=e\n"
      "USER app:app\nSTOPSIGNAL SIGTERM\nMAINTAINER me\n"
      "HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD curl -f http://x/ || exit 1\n",
      c, vars);
  EXPECT_EQ(h[0], "EXPOSE map[443/tcp:{} 53/udp:{} 80/tcp:{}]");
  EXPECT_EQ(c.config.exposed_ports, (std::vector<std::string>{"443/tcp", "53/udp", "80/tcp"}));
  EXPECT_EQ(h[1], "VOLUME [/data /cache]");
  EXPECT_EQ(h[2], "LABEL a=b c d=e");
  EXPECT_EQ(c.config.labels.at("c d"), "e");
  EXPECT_EQ(c.config.user, "app:app");
  EXPECT_EQ(c.config.stop_signal, "SIGTERM");
  EXPECT_EQ(c.author, "me");
  EXPECT_EQ(h[6],
            "HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://x/ || exit 1\"] \"30s\" \"3s\" \"0s\" "
            "\"0s\" '\\x03'}");
}

TEST(Config, ArgScopeAndOnbuild) {
  oci::ImageConfig c;
  StageVars vars;
  auto h = applyAll("FROM base\nARG A=1 B\nARG C=x\nONBUILD RUN echo hi\n", c, vars);
  EXPECT_EQ(h[0], "ARG A=1 B");
  EXPECT_EQ(vars.args, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"C", "x"}}));
  EXPECT_EQ(c.config.on_build, std::vector<std::string>{"RUN echo hi"});
  EXPECT_EQ(h[2], "ONBUILD RUN echo hi");
}

TEST(Config, CanonicalChangesWithEffect) {
  oci::ImageConfig a, b;
  StageVars va, vb;
  auto ia = parseStage("FROM base\nENV X=1\n");
  auto ib = parseStage("FROM base\nENV X=2\n");
  applyConfig(ia[0], a, va);
  applyConfig(ib[0], b, vb);
  EXPECT_NE(canonicalConfig(ia[0], a), canonicalConfig(ib[0], b));
  EXPECT_EQ(canonicalConfig(ia[0], a), canonicalConfig(ia[0], a));
}

const dockerfile::Run& runOf(const dockerfile::Instruction& ins) {
  return std::get<dockerfile::Run>(ins.body);
}

TEST(Run, ShellExecAndHistory) {
  auto ins = parseStage("FROM base\nARG V=1\nRUN echo $V\nRUN [\"/bin/echo\", \"x\"]\n");
  oci::ImageConfig c;
  StageVars vars;
  applyConfig(ins[0], c, vars);
  auto p = planRun(runOf(ins[1]), c.config, vars);
  EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/sh", "-c", "echo $V"}));
  EXPECT_EQ(p.created_by, "RUN |1 V=1 /bin/sh -c echo $V # buildkit");
  auto e = planRun(runOf(ins[2]), c.config, StageVars{});
  EXPECT_EQ(e.args, (std::vector<std::string>{"/bin/echo", "x"}));
  EXPECT_EQ(e.created_by, "RUN /bin/echo x # buildkit");
}

TEST(Run, UsedArgsAreTheOnesItNames) {
  auto ins =
      parseStage("FROM base\nRUN echo $A ${B:-x} $$ ${C}d \"$NOPE\"\nRUN <<EOF\necho $D\nEOF\n");
  StageVars vars;
  vars.args = {{"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}, {"E", "5"}};
  EXPECT_EQ(usedArgs(runOf(ins[0]), vars),
            (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(usedArgs(runOf(ins[1]), vars),
            (std::vector<std::pair<std::string, std::string>>{{"D", "4"}}));
}

TEST(Run, Heredocs) {
  auto ins = parseStage(
      "FROM base\nRUN <<EOF\necho a\necho b\nEOF\n"
      "RUN cat <<EOF > /f\nhello\nEOF\n"
      "RUN <<EOF\n#!/bin/sh\necho s\nEOF\n");
  ASSERT_EQ(ins.size(), 3u);
  oci::ContainerConfig c;
  auto a = planRun(runOf(ins[0]), c, {});
  EXPECT_EQ(a.args, (std::vector<std::string>{"/bin/sh", "-c", "echo a\necho b\n"}));
  auto b = planRun(runOf(ins[1]), c, {});
  EXPECT_EQ(b.args, (std::vector<std::string>{"/bin/sh", "-c", "cat <<EOF > /f\nhello\nEOF"}));
  auto s = planRun(runOf(ins[2]), c, {});
  EXPECT_EQ(s.args, std::vector<std::string>{"/dev/pipes/EOF"});
  ASSERT_TRUE(s.script);
  EXPECT_EQ(s.script->content, "#!/bin/sh\necho s\n");
}

TEST(Run, EnvOrder) {
  oci::ContainerConfig c;
  c.env = {"A=env"};
  StageVars vars;
  vars.args = {{"A", "arg"}, {"B", "b"}};
  auto env = runEnv(c, vars, {{"HTTP_PROXY", "http://p"}});
  EXPECT_EQ(env, (std::vector<std::string>{"A=env", "B=b", "HTTP_PROXY=http://p",
                                           std::string(kDefaultPath)}));
}

TEST(Copy, CreatedBy) {
  auto ins = parseStage(
      "FROM base\nCOPY --chown=1:2 --chmod=755 a b /dst/\nADD x.tar /\n"
      "COPY --from=builder /out /usr/bin/\n");
  EXPECT_EQ(copyCreatedBy(std::get<dockerfile::Copy>(ins[0].body)),
            "COPY --chown=1:2 --chmod=755 a b /dst/ # buildkit");
  EXPECT_EQ(copyCreatedBy(std::get<dockerfile::Copy>(ins[1].body)), "ADD x.tar / # buildkit");
  EXPECT_EQ(copyCreatedBy(std::get<dockerfile::Copy>(ins[2].body)),
            "COPY /out /usr/bin/ # buildkit");
}

TEST(Errors, RunFailure) {
  EXPECT_EQ(runFailure("Dockerfile", 3, {"/bin/sh", "-c", "false"}, 1, {}),
            "Dockerfile:3: process \"/bin/sh -c false\" did not complete successfully: exit "
            "code: 1");
  auto m = runFailure("Dockerfile", 2, {"/bin/sh", "-c", "x"}, 127, {"sh: x: not found"});
  EXPECT_NE(m.find("exit code: 127\n  sh: x: not found"), std::string::npos);
}

TEST(Errors, TailKeepsLastLines) {
  TailLines t(2);
  t.add("a\nb\nc");
  t.add("d\ne\n");
  EXPECT_EQ(t.lines(), (std::vector<std::string>{"cd", "e"}));
}

TEST(Onbuild, TriggersExpandAgainstBaseEnv) {
  dockerfile::ParseOptions opt;
  auto ins = parseTriggers({"ARG X=1", "RUN echo $X", "ENV P=$HOME/bin"}, {"HOME=/root"}, opt);
  ASSERT_TRUE(ins) << ins.error().message;
  ASSERT_EQ(ins->size(), 3u);
  EXPECT_EQ((*ins)[1].keyword, "RUN");
  EXPECT_EQ(std::get<dockerfile::EnvInstr>((*ins)[2].body).vars[0].value, "/root/bin");
  EXPECT_FALSE(parseTriggers({"RUNN x"}, {}, opt));
}

TEST(Stages, DependenciesAreSkippedAndOrdered) {
  dockerfile::ParseOptions opt;
  opt.target = "final";
  auto df = dockerfile::parse(
      "FROM scratch AS a\nFROM scratch AS unused\nFROM scratch AS b\nCOPY --from=a /x /x\n"
      "FROM b AS final\nCOPY --from=a /y /y\n",
      opt);
  ASSERT_TRUE(df) << df.error().message;
  ASSERT_EQ(df->stages.size(), 3u);
  auto deps = stageDependencies(df->stages);
  EXPECT_TRUE(deps[0].empty());
  EXPECT_EQ(deps[1], std::vector<int>{0});
  EXPECT_EQ(deps[2], (std::vector<int>{0, 1}));
}

TEST(Result, OciLayerTypes) {
  EXPECT_EQ(ociLayerMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(ociLayerMediaType("application/vnd.oci.image.layer.v1.tar+zstd"),
            "application/vnd.oci.image.layer.v1.tar+zstd");
}

}  // namespace
}  // namespace hull::build::detail
