#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "engine/containers.h"
#include "test_util.h"

namespace hull::engine {
namespace {

ContainerRecord sampleRecord() {
  ContainerRecord r;
  r.id = std::string(64, 'a');
  r.name = "web";
  r.created = "2024-05-01T10:00:00.000000001Z";
  r.image = "busybox";
  r.image_id = "sha256:" + std::string(64, 'b');
  r.args = {"sh", "-c", "sleep 1"};
  r.entrypoint = std::nullopt;
  r.cmd = std::vector<std::string>{"sh", "-c", "sleep 1"};
  r.env = {"PATH=/bin"};
  r.working_dir = "/";
  r.labels = {{"a", "b"}};
  r.healthcheck = oci::HealthConfig{.test = {"CMD-SHELL", "true"},
                                    .interval = 1000000000,
                                    .timeout = 2000000000,
                                    .start_period = 0,
                                    .start_interval = 5000000000,
                                    .retries = 3};
  r.host_config = Json{{"Memory", 1024}};
  r.anonymous_volumes = {std::string(64, 'c')};
  r.mounts = {MountSummary{
      .type = "bind", .name = "", .source = "/src", .destination = "/dst", .rw = false}};
  r.status = ContainerStatus::kRunning;
  r.pid = 42;
  r.monitor_pid = 41;
  r.started_at = "2024-05-01T10:00:01.000000000Z";
  r.health = HealthState{
      .status = "healthy",
      .failing_streak = 0,
      .log = {HealthResult{.start = "s", .end = "e", .exit_code = 0, .output = "ok\n"}}};
  return r;
}

TEST(ContainerRecord, RoundTripsThroughJson) {
  ContainerRecord r = sampleRecord();
  auto back = containerRecordFromJson(toJson(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(ContainerRecord, MissingIdIsCorrupt) {
  auto r = containerRecordFromJson(Json{{"Name", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
}

TEST(ContainerName, ValidatesDockersPattern) {
  EXPECT_TRUE(validateContainerName("web-1.a_b"));
  EXPECT_EQ(*validateContainerName("/web"), "web");
  for (const char* bad : {"", "a", "-web", "_web", "we b", "web/x", "wéb"}) {
    EXPECT_FALSE(validateContainerName(bad)) << bad;
  }
}

TEST(ContainerName, GeneratedNamesAreValidAndVaried) {
  std::mt19937_64 rng(7);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string n = generateContainerName(rng, i % 2);
    EXPECT_TRUE(std::regex_match(n, std::regex("[a-z]+_[a-z]+[0-9]?"))) << n;
    EXPECT_NE(n, "boring_wozniak");
    seen.insert(n);
  }
  EXPECT_GT(seen.size(), 100u);
}

TEST(ContainerId, Is64Hex) {
  auto id = newContainerId();
  ASSERT_TRUE(id);
  EXPECT_TRUE(std::regex_match(*id, std::regex("[0-9a-f]{64}")));
  EXPECT_NE(*id, *newContainerId());
}

TEST(ContainerTime, FormatsRfc3339Nano) {
  EXPECT_EQ(rfc3339Nano(0, 5), "1970-01-01T00:00:00.000000005Z");
  EXPECT_EQ(rfc3339Nano(1714557600, 123456789), "2024-05-01T10:00:00.123456789Z");
}

class ContainersTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = testing::freshTempDir("containers"); }
  void TearDown() override { (void)removeAll(root_); }
  ContainerRecord make(std::string id_char, std::string name, std::string created) {
    ContainerRecord r;
    r.id = std::string(64, id_char[0]);
    r.id[0] = id_char.size() > 1 ? id_char[1] : r.id[0];
    r.name = std::move(name);
    r.created = std::move(created);
    return r;
  }
  fs::path root_;
};

TEST_F(ContainersTest, CreateReservesNamesAndResolvesPrefixes) {
  Containers c(root_);
  ContainerRecord a = make("a", "web", "2024-01-01T00:00:00.000000000Z");
  ASSERT_TRUE(c.create(a));
  ContainerRecord b = make("b", "web", "2024-01-02T00:00:00.000000000Z");
  auto clash = c.create(b);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, Errc::kAlreadyExists);
  EXPECT_FALSE(fs::exists(c.containerDir(b.id)));
  b.name.clear();
  ASSERT_TRUE(c.create(b));
  EXPECT_FALSE(b.name.empty());
  ContainerRecord ab = make("ab", "other", "2024-01-03T00:00:00.000000000Z");
  ASSERT_TRUE(c.create(ab));

  EXPECT_EQ(c.resolve("web")->id, a.id);
  EXPECT_EQ(c.resolve("/web")->id, a.id);
  EXPECT_EQ(c.resolve(b.name)->id, b.id);
  EXPECT_EQ(c.resolve(b.id.substr(0, 5))->id, b.id);
  EXPECT_EQ(c.resolve(a.id)->id, a.id);
  EXPECT_EQ(c.resolve("a")->id, a.id);  // "aaa..." and "baa...": "a" is a's alone
  EXPECT_EQ(c.resolve("nothing").error().code, Errc::kNotFound);

  auto list = c.list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, ab.id);  // newest first
}

TEST_F(ContainersTest, AmbiguousPrefixIsAnError) {
  Containers c(root_);
  ContainerRecord x = make("a", "one", "1");
  ContainerRecord y = make("a", "two", "2");
  x.id[1] = 'c';  // "ac..." and "ab...": "a" matches both
  y.id[1] = 'b';
  ASSERT_TRUE(c.create(x));
  ASSERT_TRUE(c.create(y));
  auto r = c.resolve("a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

TEST_F(ContainersTest, UpdateAndReconcile) {
  Containers c(root_);
  ContainerRecord r = make("d", "svc", "1");
  ASSERT_TRUE(c.create(r));
  auto updated = c.update(r.id, [](ContainerRecord& rec) {
    rec.status = ContainerStatus::kRunning;
    rec.monitor_pid = ::getpid();
  });
  ASSERT_TRUE(updated);
  EXPECT_EQ(c.load(r.id)->status, ContainerStatus::kRunning);
  ContainerRecord live = *c.load(r.id);
  EXPECT_FALSE(reconcileStaleState(live));  // its monitor (this process) is alive
  live.monitor_pid = 0;
  EXPECT_TRUE(reconcileStaleState(live));
  EXPECT_EQ(live.status, ContainerStatus::kExited);
  ASSERT_TRUE(c.removeDir(r.id));
  EXPECT_EQ(c.resolve("svc").error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace hull::engine
