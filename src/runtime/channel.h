// The parent and the container's setup processes talk over an AF_UNIX SOCK_SEQPACKET pair: one
// message per step ("go", "pid 123", "ready", "error <code> <text>"), optionally carrying an fd
// (the pty master). The end kept across execve is close-on-exec, so EOF means "exec happened".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace hull::runtime {

struct Message {
  std::string text;
  UniqueFd fd;
};

Result<std::pair<UniqueFd, UniqueFd>> channelPair();
Result<void> sendMessage(int sock, std::string_view text, int fd = -1);
// nullopt at EOF.
Result<std::optional<Message>> receiveMessage(int sock);

// Reports an error to the parent and ends the process; for code running in a forked child.
[[noreturn]] void childFail(int sock, const Error& error, int status = 1);
// Parses "error <code> <text>" into an Error; other text is an internal error.
Error errorFromMessage(std::string_view text);

}  // namespace hull::runtime
