#include "oci/spec_edit.h"

#include <algorithm>
#include <string_view>

namespace hull::oci {
namespace {

std::string_view envKey(std::string_view entry) { return entry.substr(0, entry.find('=')); }

void setEnv(std::vector<std::string>& env, const std::string& entry) {
  auto key = envKey(entry);
  auto it =
      std::find_if(env.begin(), env.end(), [&](const std::string& e) { return envKey(e) == key; });
  if (it != env.end()) {
    *it = entry;
  } else {
    env.push_back(entry);
  }
}

// Replaces the element whose `key` matches, else appends: a later edit wins.
template <class T, class Key>
void upsert(std::vector<T>& into, const T& value, Key key) {
  auto it = std::find_if(into.begin(), into.end(),
                         [&](const T& existing) { return key(existing) == key(value); });
  if (it != into.end()) {
    *it = value;
  } else {
    into.push_back(value);
  }
}

void addDevice(std::vector<Device>& into, const Device& d) {
  upsert(into, d, [](const Device& x) { return x.path; });
}
void addMount(std::vector<Mount>& into, const Mount& m) {
  upsert(into, m, [](const Mount& x) { return x.destination; });
}

void addGid(std::vector<uint32_t>& into, uint32_t gid) {
  if (std::find(into.begin(), into.end(), gid) == into.end()) into.push_back(gid);
}

void appendHooks(Hooks& into, const Hooks& from) {
  auto append = [](std::vector<Hook>& to, const std::vector<Hook>& more) {
    to.insert(to.end(), more.begin(), more.end());
  };
  append(into.prestart, from.prestart);
  append(into.create_runtime, from.create_runtime);
  append(into.create_container, from.create_container);
  append(into.start_container, from.start_container);
  append(into.poststart, from.poststart);
  append(into.poststop, from.poststop);
}

}  // namespace

void mergeSpecEdit(SpecEdit& into, const SpecEdit& from) {
  for (const auto& e : from.env) setEnv(into.env, e);
  for (const auto& d : from.devices) addDevice(into.devices, d);
  into.device_rules.insert(into.device_rules.end(), from.device_rules.begin(),
                           from.device_rules.end());
  for (const auto& m : from.mounts) addMount(into.mounts, m);
  appendHooks(into.hooks, from.hooks);
  for (auto gid : from.additional_gids) addGid(into.additional_gids, gid);
}

void applySpecEdit(RuntimeSpec& spec, const SpecEdit& edit) {
  if (!spec.process) spec.process.emplace();
  if (!spec.linux) spec.linux.emplace();
  for (const auto& e : edit.env) setEnv(spec.process->env, e);
  for (const auto& d : edit.devices) addDevice(spec.linux->devices, d);
  if (!edit.device_rules.empty()) {
    if (!spec.linux->resources) spec.linux->resources.emplace();
    auto& rules = spec.linux->resources->devices;
    rules.insert(rules.end(), edit.device_rules.begin(), edit.device_rules.end());
  }
  for (const auto& m : edit.mounts) addMount(spec.mounts, m);
  if (edit.hooks != Hooks{}) {
    if (!spec.hooks) spec.hooks.emplace();
    appendHooks(*spec.hooks, edit.hooks);
  }
  for (auto gid : edit.additional_gids) addGid(spec.process->user.additional_gids, gid);
}

}  // namespace hull::oci
