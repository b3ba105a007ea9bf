#include <gtest/gtest.h>

#include "engine/container_view.h"
#include "engine/format.h"

namespace hull::engine {
namespace {

ContainerRecord running() {
  ContainerRecord r;
  r.id = std::string(64, 'e');
  r.name = "web";
  r.image = "busybox";
  r.created = "2024-05-01T10:00:00.000000000Z";
  r.started_at = "2024-05-01T10:00:01.500000000Z";
  r.status = ContainerStatus::kRunning;
  r.args = {"sh", "-c", "sleep 100"};
  return r;
}

int64_t at(const char* t) { return *parseTimestamp(t); }

TEST(ContainerStatusText, ShowsDockersWords) {
  ContainerRecord r = running();
  EXPECT_EQ(containerStatusText(r, at("2024-05-01T10:00:04Z")), "Up 3 seconds");
  r.healthcheck = oci::HealthConfig{};
  r.health = HealthState{};
  EXPECT_EQ(containerStatusText(r, at("2024-05-01T10:00:04Z")), "Up 3 seconds (health: starting)");
  r.health->status = "healthy";
  EXPECT_EQ(containerStatusText(r, at("2024-05-01T10:00:04Z")), "Up 3 seconds (healthy)");
  r.status = ContainerStatus::kExited;
  r.exit_code = 3;
  r.finished_at = "2024-05-01T10:01:00Z";
  EXPECT_EQ(containerStatusText(r, at("2024-05-01T10:03:00Z")), "Exited (3) 2 minutes ago");
  r.status = ContainerStatus::kCreated;
  EXPECT_EQ(containerStatusText(r, 0), "Created");
}

TEST(ContainerView, PsRowAndInspect) {
  ContainerRecord r = running();
  r.pid = 7;
  Json row = psRow(r, at("2024-05-01T10:00:04Z"));
  EXPECT_EQ(row["Command"], "sh -c sleep 100");
  EXPECT_EQ(row["State"], "running");
  EXPECT_EQ(row["CreatedAt"], "2024-05-01 10:00:00 +0000 UTC");
  OrderedJson j = inspectContainer(r, "/x.log");
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["Path"], "sh");
  EXPECT_EQ(j["Args"], OrderedJson({"-c", "sleep 100"}));
  EXPECT_EQ(j["State"]["Running"], true);
  EXPECT_EQ(j["State"]["Pid"], 7);
  EXPECT_FALSE(j["State"].contains("Health"));
}

}  // namespace
}  // namespace hull::engine
