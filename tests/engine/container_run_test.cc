#include <sys/wait.h>

#include <gtest/gtest.h>

#include "engine/container_run.h"

namespace hull::engine {
namespace {

TEST(ExitStatus, FollowsDocker) {
  EXPECT_EQ(exitStatusOf(0), 0);
  EXPECT_EQ(exitStatusOf(3 << 8), 3);
  EXPECT_EQ(exitStatusOf(SIGKILL), 137);
  EXPECT_EQ(exitStatusOf(SIGTERM), 143);
}

TEST(StartErrorStatus, MapsExecFailures) {
  EXPECT_EQ(startErrorStatus(
                Error{Errc::kNotFound, "exec: \"nope\": executable file not found in $PATH"}),
            127);
  EXPECT_EQ(startErrorStatus(Error{Errc::kPermission, "exec: \"/etc/passwd\": permission denied"}),
            126);
  EXPECT_EQ(startErrorStatus(Error{Errc::kIo, "exec: \"/x\": stat /x: Permission denied"}), 126);
  EXPECT_EQ(startErrorStatus(Error{Errc::kNotFound, "image not found: nope"}), 125);
  EXPECT_EQ(startErrorStatus(Error{Errc::kInvalidArgument, "invalid --memory"}), 125);
}

}  // namespace
}  // namespace hull::engine
