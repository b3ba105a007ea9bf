#include "oci/spec_edit.h"

#include <gtest/gtest.h>

namespace hull::oci {
namespace {

Device dev(std::string path, int64_t minor) {
  Device d;
  d.path = std::move(path);
  d.type = "c";
  d.major = 195;
  d.minor = minor;
  return d;
}

Hook hook(std::string path) {
  Hook h;
  h.path = std::move(path);
  return h;
}

Mount bindMount(std::string source, std::string destination) {
  return Mount{std::move(destination), "bind", std::move(source), {"ro", "bind"}};
}

TEST(SpecEditTest, MergeReplacesEnvDevicesAndMountsByKey) {
  SpecEdit into;
  into.env = {"A=1", "B=2"};
  into.devices = {dev("/dev/nvidia0", 0)};
  into.mounts = {bindMount("/h/a", "/c/a")};
  into.additional_gids = {44};

  SpecEdit from;
  from.env = {"B=3", "C=4"};
  from.devices = {dev("/dev/nvidia0", 7), dev("/dev/nvidiactl", 255)};
  from.mounts = {bindMount("/h/b", "/c/a"), bindMount("/h/c", "/c/c")};
  from.device_rules = {DeviceCgroupRule{true, "c", 195, 255, "rwm"}};
  from.hooks.create_container = {hook("/hull")};
  from.additional_gids = {44, 45};
  mergeSpecEdit(into, from);

  EXPECT_EQ(into.env, (std::vector<std::string>{"A=1", "B=3", "C=4"}));
  ASSERT_EQ(into.devices.size(), 2u);
  EXPECT_EQ(into.devices[0].minor, 7);
  ASSERT_EQ(into.mounts.size(), 2u);
  EXPECT_EQ(into.mounts[0].source, "/h/b");
  EXPECT_EQ(into.device_rules.size(), 1u);
  EXPECT_EQ(into.hooks.create_container.size(), 1u);
  EXPECT_EQ(into.additional_gids, (std::vector<uint32_t>{44, 45}));

  mergeSpecEdit(into, from);  // hooks and rules are appended, not replaced
  EXPECT_EQ(into.hooks.create_container.size(), 2u);
  EXPECT_EQ(into.device_rules.size(), 2u);
  EXPECT_EQ(into.devices.size(), 2u);
}

TEST(SpecEditTest, ApplyCreatesMissingSections) {
  RuntimeSpec spec;
  SpecEdit edit;
  edit.env = {"NVIDIA_VISIBLE_DEVICES=0"};
  edit.devices = {dev("/dev/nvidia0", 0)};
  edit.device_rules = {DeviceCgroupRule{true, "c", 195, 0, "rwm"}};
  edit.hooks.create_container = {hook("/hull")};
  edit.additional_gids = {10};
  applySpecEdit(spec, edit);

  ASSERT_TRUE(spec.process);
  ASSERT_TRUE(spec.linux);
  ASSERT_TRUE(spec.linux->resources);
  ASSERT_TRUE(spec.hooks);
  EXPECT_EQ(spec.process->env, edit.env);
  EXPECT_EQ(spec.linux->devices, edit.devices);
  EXPECT_EQ(spec.linux->resources->devices, edit.device_rules);
  EXPECT_EQ(spec.hooks->create_container, edit.hooks.create_container);
  EXPECT_EQ(spec.process->user.additional_gids, (std::vector<uint32_t>{10}));
}

TEST(SpecEditTest, ApplyKeepsExistingAndReplacesByKey) {
  RuntimeSpec spec;
  spec.process.emplace();
  spec.process->env = {"PATH=/bin", "NVIDIA_VISIBLE_DEVICES=all", "NOEQUALS"};
  spec.process->user.additional_gids = {10};
  spec.linux.emplace();
  spec.linux->resources.emplace();
  spec.linux->resources->devices = {DeviceCgroupRule{false, "a", {}, {}, "rwm"}};
  spec.mounts = {bindMount("/old", "/etc/x"), Mount{"/proc", "proc", "proc", {}}};
  spec.hooks.emplace();
  spec.hooks->create_container = {hook("/first")};

  SpecEdit edit;
  edit.env = {"NVIDIA_VISIBLE_DEVICES=0", "NOEQUALS=1"};
  edit.mounts = {bindMount("/new", "/etc/x")};
  edit.device_rules = {DeviceCgroupRule{true, "c", 195, 255, "rwm"}};
  edit.hooks.create_container = {hook("/second")};
  edit.additional_gids = {10, 11};
  applySpecEdit(spec, edit);

  EXPECT_EQ(spec.process->env,
            (std::vector<std::string>{"PATH=/bin", "NVIDIA_VISIBLE_DEVICES=0", "NOEQUALS=1"}));
  ASSERT_EQ(spec.mounts.size(), 2u);
  EXPECT_EQ(spec.mounts[0].source, "/new");
  ASSERT_EQ(spec.linux->resources->devices.size(), 2u);
  EXPECT_FALSE(spec.linux->resources->devices[0].allow);  // the deny-all stays first
  EXPECT_TRUE(spec.linux->resources->devices[1].allow);
  ASSERT_EQ(spec.hooks->create_container.size(), 2u);
  EXPECT_EQ(spec.hooks->create_container[1].path, "/second");
  EXPECT_EQ(spec.process->user.additional_gids, (std::vector<uint32_t>{10, 11}));
}

TEST(SpecEditTest, EmptyEditLeavesHooksAndResourcesAbsent) {
  RuntimeSpec spec;
  applySpecEdit(spec, SpecEdit{});
  EXPECT_FALSE(spec.hooks);
  ASSERT_TRUE(spec.linux);
  EXPECT_FALSE(spec.linux->resources);
}

}  // namespace
}  // namespace hull::oci
