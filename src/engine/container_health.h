// Health checks, Docker's rules (daemon/health.go): the first probe runs one interval after the
// start; while the container is still "starting" and inside its start period the interval is
// the start interval and failures do not count; a success makes it healthy and resets the
// streak; `retries` consecutive counted failures make it unhealthy. The last 5 results are kept,
// each output capped at 4096 bytes. A probe that runs longer than the timeout is killed and
// counts as a failure (exit code -1).
//
// HealthMonitor is the pure state machine; the clock is a parameter (monotonic nanoseconds), so
// it is tested with a fake one. The supervisor's event loop runs the probes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/containers.h"
#include "oci/image.h"
#include "oci/runtime_spec.h"

namespace hull::engine {

class HealthMonitor {
 public:
  // `config` has Docker's defaults filled (run_spec.h); started_ns is when the container
  // started.
  HealthMonitor(oci::HealthConfig config, int64_t started_ns);

  // When the next probe is due.
  int64_t nextProbeAt() const { return next_probe_ns_; }
  int64_t timeoutNs() const { return config_.timeout; }

  // Records a finished probe (start/end on the monotonic clock; the result's times are the wall
  // clock for the log) and schedules the next one one interval after its end.
  void record(HealthResult result, int64_t probe_start_ns, int64_t probe_end_ns);

  const HealthState& state() const { return state_; }

 private:
  int64_t intervalAfter(int64_t now_ns) const;
  oci::HealthConfig config_;
  int64_t started_ns_;
  int64_t next_probe_ns_;
  HealthState state_;
};

// The process a probe runs: ["CMD", args...] → args; ["CMD-SHELL", line] → /bin/sh -c line;
// based on the container's own process (env, user, cwd), without a terminal.
oci::Process healthProbeProcess(const oci::HealthConfig& config, const oci::Process& base);

// Caps a probe's output as Docker does.
std::string capHealthOutput(std::string output);

// "Health check exceeded timeout (30s)".
std::string healthTimeoutMessage(int64_t timeout_ns);

}  // namespace hull::engine
