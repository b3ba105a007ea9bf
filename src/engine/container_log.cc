#include "engine/container_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>

#include "base/json.h"
#include "engine/containers.h"

namespace hull::engine {

std::string encodeLogEntry(const LogEntry& e) {
  // Replacement of invalid UTF-8 keeps the log parseable whatever a program prints.
  Json j = {{"log", e.log}, {"stream", e.stream}, {"time", e.time}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<LogEntry> decodeLogEntry(std::string_view line) {
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(line, "log entry"));
  if (!j.is_object() || !j.contains("log") || !j["log"].is_string()) {
    return fail(Errc::kCorrupt, "log entry: no \"log\" string");
  }
  return LogEntry{.log = j["log"].get<std::string>(),
                  .stream = j.value("stream", "stdout"),
                  .time = j.value("time", "")};
}

std::vector<LogEntry> LogLineSplitter::feed(std::string_view bytes, const std::string& now) {
  std::vector<LogEntry> out;
  pending_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = pending_.find('\n', start);
    std::size_t available = (nl == std::string::npos ? pending_.size() : nl + 1) - start;
    if (nl == std::string::npos && available < kMaxLogLine) break;
    std::size_t take = std::min(available, kMaxLogLine);
    out.push_back(LogEntry{.log = pending_.substr(start, take), .stream = stream_, .time = now});
    start += take;
  }
  pending_.erase(0, start);
  return out;
}

std::optional<LogEntry> LogLineSplitter::flush(const std::string& now) {
  if (pending_.empty()) return std::nullopt;
  LogEntry e{.log = std::move(pending_), .stream = stream_, .time = now};
  pending_.clear();
  return e;
}

Result<LogWriter> LogWriter::open(const fs::path& path) {
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_WRONLY | O_CREAT | O_APPEND, 0640));
  return LogWriter(std::move(fd));
}

Result<void> LogWriter::append(const std::vector<LogEntry>& entries) {
  for (const auto& e : entries) HULL_TRY(writeAll(fd_.get(), encodeLogEntry(e) + "\n"));
  return {};
}

Result<void> LogWriter::write(std::string_view stream, std::string_view bytes) {
  auto it = splitters_.find(stream);
  if (it == splitters_.end()) {
    it = splitters_.emplace(std::string(stream), LogLineSplitter(std::string(stream))).first;
  }
  return append(it->second.feed(bytes, nowRfc3339Nano()));
}

Result<void> LogWriter::flush() {
  std::string now = nowRfc3339Nano();
  for (auto& [stream, splitter] : splitters_) {
    if (auto e = splitter.flush(now)) HULL_TRY(append({*e}));
  }
  return {};
}

std::size_t tailOffset(std::string_view text, std::size_t n) {
  if (n == 0) return text.size();
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  for (std::size_t count = 0; end > 0;) {
    std::size_t nl = text.rfind('\n', end - 1);
    if (nl == std::string_view::npos) return 0;
    if (++count == n) return nl + 1;
    end = nl;
  }
  return 0;
}

namespace {

// Prints every complete line of `text` from `offset`; returns the offset after the last one.
Result<std::size_t> printLines(std::string_view text, std::size_t offset,
                               const LogReadOptions& options, int out_fd, int err_fd) {
  while (offset < text.size()) {
    std::size_t nl = text.find('\n', offset);
    if (nl == std::string_view::npos) break;  // a writer is mid-line; wait for the rest
    auto e = decodeLogEntry(text.substr(offset, nl - offset));
    offset = nl + 1;
    if (!e) continue;  // a torn line after a crash: skip it as Docker does
    std::string out = options.timestamps ? e->time + " " + e->log : e->log;
    HULL_TRY(writeAll(e->stream == "stderr" ? err_fd : out_fd, out));
  }
  return offset;
}

// Waits until the file may have grown (inotify), at most 200 ms so that an exit is noticed.
void waitForGrowth(int inotify_fd) {
  struct pollfd p {
    .fd = inotify_fd, .events = POLLIN, .revents = 0
  };
  if (::poll(&p, 1, 200) > 0) {
    char buf[4096];
    (void)!::read(inotify_fd, buf, sizeof buf);
  }
}

}  // namespace

Result<void> readLogs(const fs::path& path, const LogReadOptions& options, int out_fd, int err_fd) {
  auto text = readFile(path, 1u << 30);
  if (!text && text.error().code == Errc::kIo && !fs::exists(path)) text = std::string();
  if (!text) return fail(text.error());
  std::size_t offset = options.tail ? tailOffset(*text, *options.tail) : 0;
  HULL_ASSIGN_OR_RETURN(offset, printLines(*text, offset, options, out_fd, err_fd));
  if (!options.follow) return {};
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (inotify) (void)::inotify_add_watch(inotify.get(), path.c_str(), IN_MODIFY);
  for (;;) {
    bool running = !options.still_running || options.still_running();
    auto more = readFile(path, 1u << 30);
    if (more) {
      if (more->size() < offset) offset = 0;  // the log was truncated
      HULL_ASSIGN_OR_RETURN(offset, printLines(*more, offset, options, out_fd, err_fd));
    }
    if (!running) return {};
    if (inotify) {
      waitForGrowth(inotify.get());
    } else {
      ::usleep(200 * 1000);
    }
  }
}

}  // namespace hull::engine
