#include "runtime/channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hull::runtime {

Result<std::pair<UniqueFd, UniqueFd>> channelPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return failErrno("socketpair");
  }
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

Result<void> sendMessage(int sock, std::string_view text, int fd) {
  iovec iov{.iov_base = const_cast<char*>(text.data()), .iov_len = text.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return failErrno("send to the container's setup process");
  return {};
}

Result<std::optional<Message>> receiveMessage(int sock) {
  char buf[8192];
  iovec iov{.iov_base = buf, .iov_len = sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return failErrno("receive from the container's setup process");
  if (n == 0) return std::optional<Message>();
  Message m;
  m.text.assign(buf, static_cast<std::size_t>(n));
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      m.fd.reset(fd);
    }
  }
  return std::optional<Message>(std::move(m));
}

void childFail(int sock, const Error& error, int status) {
  std::string text = "error " + std::to_string(static_cast<int>(error.code)) + " " + error.message;
  if (text.size() > 8000) text.resize(8000);
  (void)sendMessage(sock, text);
  ::_exit(status);
}

Error errorFromMessage(std::string_view text) {
  if (!text.starts_with("error ")) {
    return Error{Errc::kInternal, "unexpected message from the container: " + std::string(text)};
  }
  text.remove_prefix(6);
  auto space = text.find(' ');
  int code = std::atoi(std::string(text.substr(0, space)).c_str());
  std::string message = space == std::string_view::npos ? "" : std::string(text.substr(space + 1));
  if (code < 0 || code > static_cast<int>(Errc::kInternal))
    code = static_cast<int>(Errc::kInternal);
  return Error{static_cast<Errc>(code), std::move(message)};
}

}  // namespace hull::runtime
