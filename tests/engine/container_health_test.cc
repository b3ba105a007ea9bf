#include <gtest/gtest.h>

#include "engine/container_health.h"

namespace hull::engine {
namespace {

constexpr int64_t kSecond = 1000000000;

oci::HealthConfig config(int64_t start_period = 0) {
  return oci::HealthConfig{.test = {"CMD-SHELL", "test -f /ok"},
                           .interval = 10 * kSecond,
                           .timeout = 3 * kSecond,
                           .start_period = start_period,
                           .start_interval = 2 * kSecond,
                           .retries = 3};
}

HealthResult result(int code, std::string output = "") {
  return HealthResult{.start = "s", .end = "e", .exit_code = code, .output = std::move(output)};
}

// Runs one probe at the time it is due, lasting `duration`; returns when it ended.
int64_t probe(HealthMonitor& m, int code, int64_t duration = kSecond / 10) {
  int64_t start = m.nextProbeAt();
  m.record(result(code), start, start + duration);
  return start + duration;
}

TEST(HealthMonitor, FirstProbeAfterOneInterval) {
  HealthMonitor m(config(), 100 * kSecond);
  EXPECT_EQ(m.nextProbeAt(), 110 * kSecond);
  EXPECT_EQ(m.state().status, "starting");
}

TEST(HealthMonitor, SuccessIsHealthyAndRetriesFailuresMakeUnhealthy) {
  HealthMonitor m(config(), 0);
  int64_t end = probe(m, 0);
  EXPECT_EQ(m.state().status, "healthy");
  EXPECT_EQ(m.nextProbeAt(), end + 10 * kSecond);
  probe(m, 1);
  probe(m, 1);
  EXPECT_EQ(m.state().status, "healthy");
  EXPECT_EQ(m.state().failing_streak, 2);
  probe(m, 1);
  EXPECT_EQ(m.state().status, "unhealthy");
  EXPECT_EQ(m.state().failing_streak, 3);
  probe(m, 0);
  EXPECT_EQ(m.state().status, "healthy");
  EXPECT_EQ(m.state().failing_streak, 0);
}

TEST(HealthMonitor, StartPeriodUsesStartIntervalAndForgivesFailures) {
  HealthMonitor m(config(30 * kSecond), 0);
  EXPECT_EQ(m.nextProbeAt(), 2 * kSecond);
  for (int i = 0; i < 5; ++i) probe(m, 1);
  EXPECT_EQ(m.state().status, "starting");
  EXPECT_EQ(m.state().failing_streak, 0);
  EXPECT_LT(m.nextProbeAt(), 30 * kSecond);
  probe(m, 0);
  EXPECT_EQ(m.state().status, "healthy");
  // Healthy now: the normal interval applies even inside the start period.
  int64_t end = probe(m, 1);
  EXPECT_EQ(m.state().failing_streak, 1);
  EXPECT_EQ(m.nextProbeAt(), end + 10 * kSecond);
}

TEST(HealthMonitor, FailuresCountAfterTheStartPeriod) {
  HealthMonitor m(config(3 * kSecond), 0);
  probe(m, 1);  // at 2s: forgiven
  EXPECT_EQ(m.state().failing_streak, 0);
  probe(m, 1);  // at ~4.1s: counted
  EXPECT_EQ(m.state().failing_streak, 1);
  EXPECT_EQ(m.state().status, "starting");
}

TEST(HealthMonitor, KeepsTheLastFiveCappedResults) {
  HealthMonitor m(config(), 0);
  for (int i = 0; i < 7; ++i) {
    int64_t start = m.nextProbeAt();
    m.record(result(i, std::string(5000, 'x')), start, start + 1);
  }
  ASSERT_EQ(m.state().log.size(), 5u);
  EXPECT_EQ(m.state().log.front().exit_code, 2);
  EXPECT_EQ(m.state().log.back().exit_code, 6);
  EXPECT_EQ(m.state().log.back().output.size(), kHealthOutputLimit);
}

TEST(HealthProbe, BuildsTheProcess) {
  oci::Process base;
  base.args = {"sleep", "9"};
  base.terminal = true;
  base.env = {"A=1"};
  auto shell = healthProbeProcess(config(), base);
  EXPECT_EQ(shell.args, (std::vector<std::string>{"/bin/sh", "-c", "test -f /ok"}));
  EXPECT_FALSE(shell.terminal);
  EXPECT_EQ(shell.env, base.env);
  oci::HealthConfig cmd = config();
  cmd.test = {"CMD", "true", "x"};
  EXPECT_EQ(healthProbeProcess(cmd, base).args, (std::vector<std::string>{"true", "x"}));
}

TEST(HealthProbe, TimeoutMessage) {
  EXPECT_EQ(healthTimeoutMessage(30 * kSecond), "Health check exceeded timeout (30s)");
  EXPECT_EQ(healthTimeoutMessage(kSecond / 2), "Health check exceeded timeout (500ms)");
}

}  // namespace
}  // namespace hull::engine
