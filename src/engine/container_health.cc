#include "engine/container_health.h"

#include <fmt/format.h>

namespace hull::engine {

HealthMonitor::HealthMonitor(oci::HealthConfig config, int64_t started_ns)
    : config_(std::move(config)), started_ns_(started_ns) {
  next_probe_ns_ = started_ns_ + intervalAfter(started_ns_);
}

int64_t HealthMonitor::intervalAfter(int64_t now_ns) const {
  bool in_start_period = now_ns - started_ns_ < config_.start_period;
  if (state_.status == "starting" && in_start_period && config_.start_interval > 0) {
    return config_.start_interval;
  }
  return config_.interval;
}

void HealthMonitor::record(HealthResult result, int64_t probe_start_ns, int64_t probe_end_ns) {
  if (result.exit_code == 0) {
    state_.failing_streak = 0;
    state_.status = "healthy";
  } else {
    // A container that never passed a check and is inside its start period is still starting:
    // its failures do not count.
    bool uncounted =
        state_.status == "starting" && probe_start_ns - started_ns_ < config_.start_period;
    if (!uncounted) {
      ++state_.failing_streak;
      if (state_.failing_streak >= config_.retries) state_.status = "unhealthy";
    }
  }
  result.output = capHealthOutput(std::move(result.output));
  state_.log.push_back(std::move(result));
  if (state_.log.size() > static_cast<std::size_t>(kHealthLogEntries)) {
    state_.log.erase(state_.log.begin());
  }
  next_probe_ns_ = probe_end_ns + intervalAfter(probe_end_ns);
}

oci::Process healthProbeProcess(const oci::HealthConfig& config, const oci::Process& base) {
  oci::Process p = base;
  p.terminal = false;
  p.console_size.reset();
  p.args.clear();
  if (!config.test.empty() && config.test[0] == "CMD-SHELL") {
    p.args = {"/bin/sh", "-c", config.test.size() > 1 ? config.test[1] : ""};
  } else if (!config.test.empty() && config.test[0] == "CMD") {
    p.args.assign(config.test.begin() + 1, config.test.end());
  } else {
    p.args = config.test;
  }
  return p;
}

std::string capHealthOutput(std::string output) {
  if (output.size() > kHealthOutputLimit) output.resize(kHealthOutputLimit);
  return output;
}

std::string healthTimeoutMessage(int64_t timeout_ns) {
  int64_t ms = timeout_ns / 1000000;
  if (ms % 1000 == 0) return fmt::format("Health check exceeded timeout ({}s)", ms / 1000);
  return fmt::format("Health check exceeded timeout ({}ms)", ms);
}

}  // namespace hull::engine
