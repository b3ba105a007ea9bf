#include "engine/container_view.h"

#include <time.h>

#include <fmt/format.h>

#include "engine/format.h"

namespace hull::engine {
namespace {

int64_t secondsSince(const std::string& when, int64_t now) {
  auto t = parseTimestamp(when);
  return t ? std::max<int64_t>(0, now - *t) : 0;
}

std::string healthSuffix(const ContainerRecord& r) {
  if (!r.health || !r.healthcheck) return "";
  if (r.health->status == "starting") return " (health: starting)";
  return " (" + r.health->status + ")";
}

// "2024-05-01 10:00:00 +0000 UTC", as Go prints a time in `docker ps --format json`.
std::string goTime(const std::string& rfc3339) {
  auto t = parseTimestamp(rfc3339);
  if (!t) return rfc3339;
  time_t tt = static_cast<time_t>(*t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string labelsText(const ContainerRecord& r) {
  std::string out;
  for (const auto& [k, v] : r.labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

Json healthcheckJson(const oci::HealthConfig& h) {
  return {{"Test", h.test},
          {"Interval", h.interval},
          {"Timeout", h.timeout},
          {"StartPeriod", h.start_period},
          {"StartInterval", h.start_interval},
          {"Retries", h.retries}};
}

OrderedJson stateJson(const ContainerRecord& r) {
  OrderedJson s;
  s["Status"] = containerStatusName(r.status);
  s["Running"] = r.status == ContainerStatus::kRunning;
  s["Paused"] = false;
  s["Restarting"] = false;
  s["OOMKilled"] = false;
  s["Dead"] = false;
  s["Pid"] = r.pid;
  s["ExitCode"] = r.exit_code;
  s["Error"] = r.error;
  s["StartedAt"] = r.started_at.empty() ? "0001-01-01T00:00:00Z" : r.started_at;
  s["FinishedAt"] = r.finished_at.empty() ? "0001-01-01T00:00:00Z" : r.finished_at;
  if (r.health) {
    OrderedJson log = OrderedJson::array();
    for (const auto& e : r.health->log) {
      log.push_back(
          {{"Start", e.start}, {"End", e.end}, {"ExitCode", e.exit_code}, {"Output", e.output}});
    }
    s["Health"] = {
        {"Status", r.health->status}, {"FailingStreak", r.health->failing_streak}, {"Log", log}};
  }
  return s;
}

OrderedJson configJson(const ContainerRecord& r) {
  OrderedJson c;
  c["Hostname"] = r.hostname;
  c["User"] = r.user;
  c["Tty"] = r.tty;
  c["OpenStdin"] = r.open_stdin;
  c["Env"] = r.env;
  c["Cmd"] = r.cmd ? Json(*r.cmd) : Json(nullptr);
  if (r.healthcheck) c["Healthcheck"] = healthcheckJson(*r.healthcheck);
  c["Image"] = r.image;
  c["WorkingDir"] = r.working_dir;
  c["Entrypoint"] = r.entrypoint ? Json(*r.entrypoint) : Json(nullptr);
  c["Labels"] = r.labels;
  c["StopSignal"] = r.stop_signal;
  c["StopTimeout"] = r.stop_timeout;
  return c;
}

}  // namespace

std::string containerStatusText(const ContainerRecord& r, int64_t now) {
  switch (r.status) {
    case ContainerStatus::kCreated:
      return "Created";
    case ContainerStatus::kRunning:
      return "Up " + humanDuration(secondsSince(r.started_at, now)) + healthSuffix(r);
    case ContainerStatus::kExited:
      return fmt::format("Exited ({}) {} ago", r.exit_code,
                         humanDuration(secondsSince(r.finished_at, now)));
  }
  return "Unknown";
}

std::string containerCommand(const ContainerRecord& r) {
  std::string out;
  for (const auto& a : r.args) out += (out.empty() ? "" : " ") + a;
  return out;
}

Json psRow(const ContainerRecord& r, int64_t now) {
  std::string mounts;
  for (const auto& m : r.mounts) {
    mounts += (mounts.empty() ? "" : ",") + (m.type == "volume" ? m.name : m.source);
  }
  return {{"Command", containerCommand(r)},
          {"CreatedAt", goTime(r.created)},
          {"ID", r.id},
          {"Image", r.image},
          {"Labels", labelsText(r)},
          {"Mounts", mounts},
          {"Names", r.name},
          {"RunningFor", createdSince(r.created, now)},
          {"State", containerStatusName(r.status)},
          {"Status", containerStatusText(r, now)}};
}

OrderedJson inspectContainer(const ContainerRecord& r, const std::string& log_path) {
  OrderedJson j;
  j["Id"] = r.id;
  j["Created"] = r.created;
  j["Path"] = r.args.empty() ? "" : r.args[0];
  j["Args"] = r.args.size() > 1 ? Json(std::vector<std::string>(r.args.begin() + 1, r.args.end()))
                                : Json::array();
  j["State"] = stateJson(r);
  j["Image"] = r.image_id;
  j["LogPath"] = log_path;
  j["Name"] = "/" + r.name;
  j["Driver"] = "overlay";
  j["HostConfig"] = r.host_config;
  OrderedJson mounts = OrderedJson::array();
  for (const auto& m : r.mounts) {
    OrderedJson e;
    e["Type"] = m.type;
    if (!m.name.empty()) e["Name"] = m.name;
    e["Source"] = m.source;
    e["Destination"] = m.destination;
    e["Mode"] = m.rw ? "" : "ro";
    e["RW"] = m.rw;
    mounts.push_back(std::move(e));
  }
  j["Mounts"] = mounts;
  j["Config"] = configJson(r);
  return j;
}

}  // namespace hull::engine
