#include "engine/change.h"

#include <gtest/gtest.h>

namespace hull::engine {
namespace {

using Strings = std::vector<std::string>;

oci::ContainerConfig apply(std::initializer_list<std::string_view> changes) {
  oci::ContainerConfig c;
  for (auto change : changes) {
    auto r = applyChange(change, c);
    EXPECT_TRUE(r) << change << ": " << r.error().message;
  }
  return c;
}

TEST(Change, CmdAndEntrypointTakeExecAndShellForms) {
  auto c = apply({R"(CMD ["sh", "-c", "echo hi"])", "ENTRYPOINT /bin/run --flag"});
  EXPECT_EQ(c.cmd, (Strings{"sh", "-c", "echo hi"}));
  EXPECT_EQ(c.entrypoint, (Strings{"/bin/sh", "-c", "/bin/run --flag"}));
  auto shell = apply({R"(SHELL ["/bin/bash", "-lc"])", "cmd make all"});
  EXPECT_EQ(shell.cmd, (Strings{"/bin/bash", "-lc", "make all"}));
}

TEST(Change, EnvAndLabelTakePairsQuotesAndTheLegacyForm) {
  auto c = apply({R"(ENV A=1 B="two words")", "ENV PATH /usr/bin:/bin", "ENV A=3",
                  R"(LABEL org.x="y z" k=v)"});
  EXPECT_EQ(c.env, (Strings{"A=3", "B=two words", "PATH=/usr/bin:/bin"}));
  EXPECT_EQ(c.labels.at("org.x"), "y z");
  EXPECT_EQ(c.labels.at("k"), "v");
}

TEST(Change, ExposeVolumeUserWorkdirStopsignalOnbuild) {
  auto c = apply({"EXPOSE 80 53/udp 8000-8001", R"(VOLUME ["/data", "/cache"])", "VOLUME /logs",
                  "USER 1000:1000", "WORKDIR /app", "WORKDIR src", "STOPSIGNAL SIGINT",
                  "ONBUILD RUN make"});
  EXPECT_EQ(c.exposed_ports, (Strings{"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}));
  EXPECT_EQ(c.volumes, (Strings{"/data", "/cache", "/logs"}));
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_EQ(c.working_dir, "/app/src");
  EXPECT_EQ(c.stop_signal, "SIGINT");
  EXPECT_EQ(c.on_build, (Strings{"RUN make"}));
}

TEST(Change, Healthcheck) {
  auto c = apply({"HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD curl -f x"});
  ASSERT_TRUE(c.healthcheck);
  EXPECT_EQ(c.healthcheck->test, (Strings{"CMD-SHELL", "curl -f x"}));
  EXPECT_EQ(c.healthcheck->interval, 30'000'000'000);
  EXPECT_EQ(c.healthcheck->timeout, 90'000'000'000);
  EXPECT_EQ(c.healthcheck->retries, 3);
  auto none = apply({"HEALTHCHECK NONE"});
  EXPECT_EQ(none.healthcheck->test, (Strings{"NONE"}));
}

TEST(Change, RejectsBadInputWithTheInstructionInTheMessage) {
  oci::ContainerConfig c;
  for (std::string_view bad :
       {"", "CMD", "RUN make", "EXPOSE 99999", "EXPOSE 80/xyz", "ENV =x", "LABEL novalue",
        "ENV A=\"open", "SHELL sh", "HEALTHCHECK --interval=abc CMD true", "HEALTHCHECK CMD"}) {
    auto r = applyChange(bad, c);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message.find("--change"), std::string::npos) << r.error().message;
  }
}

TEST(Change, GoDurations) {
  EXPECT_EQ(parseGoDuration("500ms").value(), 500'000'000);
  EXPECT_EQ(parseGoDuration("1h").value(), 3600'000'000'000);
  EXPECT_FALSE(parseGoDuration("5"));
  EXPECT_FALSE(parseGoDuration("s"));
}

}  // namespace
}  // namespace hull::engine
