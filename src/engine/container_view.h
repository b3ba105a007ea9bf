// What `hull ps` and `hull inspect` show of a container, in Docker's words and shapes. Pure:
// the time is a parameter.
#pragma once

#include <cstdint>
#include <string>

#include "base/json.h"
#include "engine/containers.h"

namespace hull::engine {

// STATUS as `docker ps` prints it: "Created", "Up 3 seconds", "Up 2 minutes (healthy)",
// "Up 5 seconds (health: starting)", "Exited (0) 2 seconds ago".
std::string containerStatusText(const ContainerRecord& r, int64_t now);

// COMMAND: the process's arguments joined by spaces, as `docker ps` builds it before quoting.
std::string containerCommand(const ContainerRecord& r);

// One `docker ps --format json` object: Command, CreatedAt, ID (full), Image, Labels, Mounts,
// Names, State, Status.
Json psRow(const ContainerRecord& r, int64_t now);

// `docker inspect`'s container object: Id, Name ("/name"), Created, Path, Args, State{...,
// Health}, Image, HostConfig, Mounts, Config{Hostname, User, Env, Cmd, Entrypoint, Image,
// WorkingDir, Labels, Healthcheck, StopSignal, StopTimeout, Tty, OpenStdin}, LogPath.
OrderedJson inspectContainer(const ContainerRecord& r, const std::string& log_path);

}  // namespace hull::engine
